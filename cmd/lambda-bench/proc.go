package main

import (
	"bytes"
	"os"
	"strconv"
	"strings"
	"time"
)

// An extension may be more than one process (a launcher that runs the
// collector as its child). The emulator starts each process as the leader of
// a process group of its own, so the extension's memory and CPU are those of
// its group.

// processGroup is pid and every process in the group it leads.
func processGroup(pid int) []int {
	pids := []int{pid}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		other, err := strconv.Atoi(e.Name())
		if err != nil || other == pid {
			continue
		}
		// Fields after the command name: state, ppid, pgrp, ...
		if f := statFields(other); len(f) > 2 && f[2] == strconv.Itoa(pid) {
			pids = append(pids, other)
		}
	}
	return pids
}

// statFields are the fields of /proc/<pid>/stat after the command name (nil
// if the process is gone).
func statFields(pid int) []string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return nil
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return nil
	}
	return strings.Fields(string(b[i+1:]))
}

// cpuTime is utime+stime of pid's process group from /proc/<pid>/stat
// (fields 14 and 15, in USER_HZ: 100 per second on Linux).
func cpuTime(pid int) time.Duration {
	var ticks int64
	for _, p := range processGroup(pid) {
		// f[0] is field 3 (state): utime is f[11], stime f[12].
		if f := statFields(p); len(f) > 12 {
			ut, _ := strconv.ParseInt(f[11], 10, 64)
			st, _ := strconv.ParseInt(f[12], 10, 64)
			ticks += ut + st
		}
	}
	return time.Duration(ticks) * (time.Second / 100)
}

// rssMiB is the VmRSS of pid's process group.
func rssMiB(pid int) float64 {
	var kb float64
	for _, p := range processGroup(pid) {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(p) + "/status")
		if err != nil {
			continue
		}
		for line := range strings.SplitSeq(string(b), "\n") {
			if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
				v, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
				kb += v
			}
		}
	}
	return kb / 1024
}
