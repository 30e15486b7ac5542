//go:build !unix

package spool

import "os"

// lockFile only opens path: without flock, two processes on one directory
// are not detected (Lambda, the target, is Linux).
func lockFile(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
}
