package main

import (
	"slices"
	"strconv"
	"time"

	"github.com/lambda-o11y/otelcol-lambda/internal/lambdaemu"
)

// An extension may be more than one process (a launcher that runs the
// collector as its child). The emulator starts each process as the leader of
// a process group of its own, so the extension's memory and CPU are those of
// its group.

// groupOf is pid and the other processes of the group it leads (pid may
// lead none: this test's own process).
func groupOf(pid int) []int {
	members := lambdaemu.GroupMembers(pid)
	if !slices.Contains(members, pid) {
		members = append([]int{pid}, members...)
	}
	return members
}

// cpuTime is utime+stime of pid's process group from /proc/<pid>/stat
// (fields 14 and 15, in USER_HZ: 100 per second on Linux).
func cpuTime(pid int) time.Duration {
	var ticks int64
	for _, p := range groupOf(pid) {
		// f[0] is field 3 (state): utime is f[11], stime f[12].
		if f := lambdaemu.StatFields(p); len(f) > 12 {
			ut, _ := strconv.ParseInt(f[11], 10, 64)
			st, _ := strconv.ParseInt(f[12], 10, 64)
			ticks += ut + st
		}
	}
	return time.Duration(ticks) * (time.Second / 100)
}

// rssMiB is the VmRSS of pid's process group.
func rssMiB(pid int) float64 { return statusMiB(pid, "VmRSS") }

// statusMiB sums a size field of /proc/<pid>/status over pid's process group.
func statusMiB(pid int, field string) float64 {
	var b int64
	for _, p := range groupOf(pid) {
		b += lambdaemu.StatusBytes(p, field)
	}
	return float64(b) / (1 << 20)
}
