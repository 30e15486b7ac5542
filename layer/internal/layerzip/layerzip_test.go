package layerzip

import (
	"archive/zip"
	"bytes"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lambda-o11y/otelcol-lambda/layer/internal/layertest"
)

func TestWrite(t *testing.T) {
	launcher := []byte("\x7fELF pretend launcher\n")
	collector := []byte("\x7fELF pretend collector\n")
	config := []byte("receivers:\n  lambdatelemetry:\n")
	write := func(w io.Writer) error {
		return Write(w, bytes.NewReader(launcher), bytes.NewReader(collector), bytes.NewReader(config))
	}
	var buf bytes.Buffer
	require.NoError(t, write(&buf))

	zr, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	require.NoError(t, err)
	want := []struct {
		name   string
		mode   fs.FileMode
		method uint16
		body   []byte
	}{
		{"extensions/", fs.ModeDir | 0o755, zip.Store, nil},
		{"extensions/otelcol-lambda", 0o755, zip.Deflate, launcher},
		{"otelcol-lambda/", fs.ModeDir | 0o755, zip.Store, nil},
		{"otelcol-lambda/collector", 0o755, zip.Deflate, collector},
		{"collector-config/", fs.ModeDir | 0o755, zip.Store, nil},
		{"collector-config/config.yaml", 0o644, zip.Deflate, config},
	}
	require.Len(t, zr.File, len(want))
	for i, w := range want {
		f := zr.File[i]
		assert.Equal(t, w.name, f.Name)
		assert.Equal(t, w.mode.String(), f.Mode().String(), f.Name)
		assert.Equal(t, w.method, f.Method, f.Name)
		assert.Equal(t, uint16(3), f.CreatorVersion>>8, "%s: creator is not Unix, so modes would be lost", f.Name)
		assert.True(t, f.Modified.Equal(modified), "%s modified %v", f.Name, f.Modified)
		rc, err := f.Open()
		require.NoError(t, err)
		got, err := io.ReadAll(rc)
		require.NoError(t, err)
		require.NoError(t, rc.Close())
		assert.Equal(t, len(w.body), len(got), f.Name)
		assert.True(t, bytes.Equal(w.body, got), "%s content differs", f.Name)
	}

	var again bytes.Buffer
	require.NoError(t, write(&again))
	assert.True(t, bytes.Equal(buf.Bytes(), again.Bytes()), "same inputs gave different archives")
}

func TestWriteFile(t *testing.T) {
	amd64 := layertest.StaticBinary(t, "amd64")
	dir := t.TempDir()
	config := filepath.Join(dir, "config.yaml")
	require.NoError(t, os.WriteFile(config, []byte("receivers:\n  otlp:\n"), 0o644))
	empty := filepath.Join(dir, "empty.yaml")
	require.NoError(t, os.WriteFile(empty, nil, 0o644))

	tests := []struct {
		name, arch, launcher, collector, config, wantErr string
	}{
		{name: "ok", arch: "amd64", launcher: amd64, collector: amd64, config: config},
		{name: "wrong arch", arch: "arm64", launcher: amd64, collector: amd64, config: config, wantErr: "want EM_AARCH64 for arm64"},
		{name: "launcher not ELF", arch: "amd64", launcher: config, collector: amd64, config: config, wantErr: "launcher " + config + ": not an ELF file"},
		{name: "collector not ELF", arch: "amd64", launcher: amd64, collector: config, config: config, wantErr: "collector " + config + ": not an ELF file"},
		{name: "missing launcher", arch: "amd64", launcher: filepath.Join(dir, "nope"), collector: amd64, config: config, wantErr: "launcher:"},
		{name: "missing collector", arch: "amd64", launcher: amd64, collector: filepath.Join(dir, "nope"), config: config, wantErr: "collector:"},
		{name: "missing config", arch: "amd64", launcher: amd64, collector: amd64, config: filepath.Join(dir, "nope.yaml"), wantErr: "config:"},
		{name: "empty config", arch: "amd64", launcher: amd64, collector: amd64, config: empty, wantErr: "not a non-empty regular file"},
		{name: "config is a directory", arch: "amd64", launcher: amd64, collector: amd64, config: dir, wantErr: "not a non-empty regular file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			outDir := t.TempDir()
			out := filepath.Join(outDir, "layer.zip")
			err := WriteFile(out, tt.arch, tt.launcher, tt.collector, tt.config)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				entries, err := os.ReadDir(outDir)
				require.NoError(t, err)
				assert.Empty(t, entries, "a failed run left files behind")
				return
			}
			require.NoError(t, err)
			st, err := os.Stat(out)
			require.NoError(t, err)
			assert.Equal(t, fs.FileMode(0o644), st.Mode().Perm())
			zr, err := zip.OpenReader(out)
			require.NoError(t, err)
			defer zr.Close()
			require.Len(t, zr.File, 6)
			assert.Equal(t, ExtensionPath, zr.File[1].Name)
			assert.Equal(t, CollectorPath, zr.File[3].Name)
			assert.Equal(t, ConfigPath, zr.File[5].Name)
			entries, err := os.ReadDir(outDir)
			require.NoError(t, err)
			assert.Len(t, entries, 1, "temporary file left next to the zip")
		})
	}
}

func TestWriteFileReplacesExisting(t *testing.T) {
	bin := layertest.StaticBinary(t, "arm64")
	dir := t.TempDir()
	config := filepath.Join(dir, "config.yaml")
	require.NoError(t, os.WriteFile(config, []byte("receivers: {}\n"), 0o644))
	out := filepath.Join(dir, "layer.zip")
	require.NoError(t, os.WriteFile(out, []byte("stale"), 0o644))

	require.NoError(t, WriteFile(out, "arm64", bin, bin, config))
	zr, err := zip.OpenReader(out)
	require.NoError(t, err)
	defer zr.Close()
	assert.Len(t, zr.File, 6)
}

func TestCheckStaticELF(t *testing.T) {
	amd64 := layertest.StaticBinary(t, "amd64")
	arm64 := layertest.StaticBinary(t, "arm64")
	// Go's internal linker gives a PIE a dynamic loader, even without cgo.
	pie := layertest.Build(t, "package main\n\nfunc main() {}\n", []string{"CGO_ENABLED=0", "GOARCH=amd64"}, "-buildmode=pie")

	tests := []struct {
		name, path, arch string
		wantErrs         []string
	}{
		{name: "amd64", path: amd64, arch: "amd64"},
		{name: "arm64", path: arm64, arch: "arm64"},
		{name: "amd64 as arm64", path: amd64, arch: "arm64", wantErrs: []string{"ELF machine is EM_X86_64, want EM_AARCH64"}},
		{name: "arm64 as amd64", path: arm64, arch: "amd64", wantErrs: []string{"ELF machine is EM_AARCH64, want EM_X86_64"}},
		{name: "unsupported arch", path: amd64, arch: "386", wantErrs: []string{`unsupported architecture "386"`}},
		{name: "PIE", path: pie, arch: "amd64", wantErrs: []string{"PT_INTERP", "ELF type is ET_DYN"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkFile(t, tt.path, tt.arch)
			if len(tt.wantErrs) == 0 {
				require.NoError(t, err)
				return
			}
			for _, want := range tt.wantErrs {
				require.ErrorContains(t, err, want)
			}
		})
	}

	t.Run("not ELF", func(t *testing.T) {
		require.ErrorContains(t, CheckStaticELF(strings.NewReader("#!/bin/sh\necho hi\n"), "amd64"), "not an ELF file")
	})
}

// TestCheckStaticELFSharedLibrary needs a C toolchain: only cgo produces a
// DT_NEEDED entry (libc) from Go source.
func TestCheckStaticELFSharedLibrary(t *testing.T) {
	cc := os.Getenv("CC")
	if cc == "" {
		cc = "gcc"
	}
	if _, err := exec.LookPath(cc); err != nil {
		t.Skipf("no C compiler (%s) to build a cgo binary: %v", cc, err)
	}
	src := "package main\n\n// #include <stdlib.h>\nimport \"C\"\n\nfunc main() { C.abs(1) }\n"
	bin := layertest.Build(t, src, []string{"CGO_ENABLED=1", "GOARCH=" + runtime.GOARCH})
	err := checkFile(t, bin, runtime.GOARCH)
	require.ErrorContains(t, err, "needs shared libraries")
	require.ErrorContains(t, err, "libc")
}

func checkFile(t *testing.T, path, arch string) error {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	return CheckStaticELF(f, arch)
}
