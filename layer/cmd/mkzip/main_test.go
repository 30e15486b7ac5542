package main

import (
	"archive/zip"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lambda-o11y/otelcol-lambda/layer/internal/layertest"
	"github.com/lambda-o11y/otelcol-lambda/layer/internal/layerzip"
)

func TestRun(t *testing.T) {
	bin := layertest.StaticBinary(t, "arm64")
	dir := t.TempDir()
	config := filepath.Join(dir, "config.yaml")
	require.NoError(t, os.WriteFile(config, []byte("receivers:\n  otlp:\n"), 0o644))
	out := filepath.Join(dir, "layer.zip")

	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{name: "ok", args: []string{"-arch", "arm64", "-launcher", bin, "-collector", bin, "-config", config, "-o", out}},
		{name: "missing -o", args: []string{"-arch", "arm64", "-launcher", bin, "-collector", bin, "-config", config}, wantErr: "-o is required"},
		{name: "missing -collector", args: []string{"-arch", "arm64", "-launcher", bin, "-config", config, "-o", out}, wantErr: "-collector is required"},
		{name: "missing -arch", args: []string{"-launcher", bin, "-collector", bin, "-config", config, "-o", out}, wantErr: "-arch is required"},
		{name: "extra argument", args: []string{"-arch", "arm64", "-launcher", bin, "-collector", bin, "-config", config, "-o", out, "x"}, wantErr: `unexpected arguments ["x"]`},
		{name: "unknown flag", args: []string{"-zip", out}, wantErr: "flag provided but not defined: -zip"},
		{name: "wrong arch", args: []string{"-arch", "amd64", "-launcher", bin, "-collector", bin, "-config", config, "-o", out}, wantErr: "want EM_X86_64 for amd64"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.NoError(t, os.RemoveAll(out))
			err := run(tt.args)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				assert.NoFileExists(t, out)
				return
			}
			require.NoError(t, err)
			zr, err := zip.OpenReader(out)
			require.NoError(t, err)
			defer zr.Close()
			require.Len(t, zr.File, 6)
			assert.Equal(t, layerzip.ExtensionPath, zr.File[1].Name)
			assert.Equal(t, layerzip.CollectorPath, zr.File[3].Name)
		})
	}
}
