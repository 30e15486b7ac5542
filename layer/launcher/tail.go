package main

import "strings"

// tailSize bounds what is kept of the collector's stderr: enough for its
// error and the lines before it, well under what Lambda shows of an Init error.
const tailSize = 4 << 10

// tail keeps the last tailSize bytes written to it. It is written by the one
// goroutine os/exec copies stderr with, and read after Wait, so it needs no lock.
type tail struct {
	b   []byte
	cut bool // bytes were dropped: b may start in the middle of a line
}

func (t *tail) Write(p []byte) (int, error) {
	n := len(p)
	if over := len(t.b) + n - tailSize; over > 0 {
		t.cut = true
		if over >= len(t.b) {
			p = p[over-len(t.b):]
			t.b = t.b[:0]
		} else {
			t.b = append(t.b[:0], t.b[over:]...)
		}
	}
	t.b = append(t.b, p...)
	return n, nil
}

// lastError is the collector's last error, trimmed: from its last line that
// starts with "Error:" (how the collector's command reports a config or
// component that cannot load), or else all the complete lines kept.
func (t *tail) lastError() string {
	s := string(t.b)
	if t.cut {
		if i := strings.IndexByte(s, '\n'); i >= 0 {
			s = s[i+1:]
		}
	}
	if i := strings.LastIndex("\n"+s, "\nError:"); i >= 0 {
		s = s[i:]
	}
	return strings.TrimSpace(s)
}
