// Package layertest builds small Linux executables for the layer's tests, so
// the checks run without first compiling the whole collector.
package layertest

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

const helloMain = "package main\n\nfunc main() { println(\"hello\") }\n"

// StaticBinary compiles a hello-world program for linux/goarch with the
// Makefile's flags for the collector (CGO_ENABLED=0, -trimpath, -s -w) and
// returns its path.
func StaticBinary(t testing.TB, goarch string) string {
	t.Helper()
	return Build(t, helloMain, []string{"CGO_ENABLED=0", "GOARCH=" + goarch}, "-trimpath", "-ldflags=-s -w")
}

// Build compiles src, the source of a main package with no dependencies, for
// Linux with env added to the environment and flags passed to go build, and
// returns the executable's path.
func Build(t testing.TB, src string, env []string, flags ...string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module hello\n\ngo 1.26\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "hello")
	cmd := exec.CommandContext(t.Context(), "go", append(append([]string{"build"}, flags...), "-o", out, ".")...)
	cmd.Dir = dir
	// GOWORK=off keeps a go.work above the temp dir from claiming the module.
	cmd.Env = append(os.Environ(), append([]string{"GOOS=linux", "GOWORK=off"}, env...)...)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %v: %v\n%s", env, err, b)
	}
	return out
}
