// Package layerzip writes the otelcol-lambda Lambda layer archive and checks
// that a binary is fit to go into it.
package layerzip

import (
	"archive/zip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// Paths inside the layer. Lambda extracts layers under /opt and starts every
// executable in /opt/extensions as an external extension.
const (
	ExtensionDir  = "extensions/"
	ExtensionPath = ExtensionDir + "otelcol-lambda"
	ConfigDir     = "collector-config/"
	ConfigPath    = ConfigDir + "config.yaml"
)

// modified is the timestamp of every entry, so the same inputs always give
// the same bytes. 1980-01-01 is the earliest time the zip format can hold.
var modified = time.Date(1980, time.January, 1, 0, 0, 0, 0, time.UTC)

// Write writes the layer to w: the two directories, then the extension binary
// (0755) and the collector config (0644), both deflated.
func Write(w io.Writer, binary, config io.Reader) error {
	zw := zip.NewWriter(w)
	entries := []struct {
		name string
		mode fs.FileMode
		body io.Reader
	}{
		{ExtensionDir, fs.ModeDir | 0o755, nil},
		{ExtensionPath, 0o755, binary},
		{ConfigDir, fs.ModeDir | 0o755, nil},
		{ConfigPath, 0o644, config},
	}
	for _, e := range entries {
		fh := &zip.FileHeader{Name: e.name, Method: zip.Deflate, Modified: modified}
		if e.body == nil {
			fh.Method = zip.Store
		}
		// SetMode also marks the entry as made on Unix, which is what makes
		// Lambda's extraction keep the execute bit.
		fh.SetMode(e.mode)
		dst, err := zw.CreateHeader(fh)
		if err != nil {
			return fmt.Errorf("adding %s: %w", e.name, err)
		}
		if e.body == nil {
			continue
		}
		if _, err := io.Copy(dst, e.body); err != nil {
			return fmt.Errorf("writing %s: %w", e.name, err)
		}
	}
	return zw.Close()
}

// WriteFile checks that binaryPath is a static Linux executable for goarch and
// that configPath is a non-empty file, then writes the layer to outPath. The
// archive is written to a temporary file next to outPath and renamed, so a
// failure never leaves a truncated zip behind.
func WriteFile(outPath, goarch, binaryPath, configPath string) (err error) {
	bin, err := os.Open(binaryPath)
	if err != nil {
		return fmt.Errorf("binary: %w", err)
	}
	defer bin.Close()
	if err := CheckStaticELF(bin, goarch); err != nil {
		return fmt.Errorf("binary %s: %w", binaryPath, err)
	}
	cfg, err := os.Open(configPath)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	defer cfg.Close()
	if st, err := cfg.Stat(); err != nil {
		return fmt.Errorf("config: %w", err)
	} else if !st.Mode().IsRegular() || st.Size() == 0 {
		return fmt.Errorf("config %s: not a non-empty regular file", configPath)
	}

	tmp, err := os.CreateTemp(filepath.Dir(outPath), filepath.Base(outPath)+".*.tmp")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			err = errors.Join(err, os.Remove(tmp.Name()))
		}
	}()
	if err := Write(tmp, bin, cfg); err != nil {
		return errors.Join(err, tmp.Close())
	}
	// CreateTemp makes the file 0600; a build artefact should be readable.
	if err := tmp.Chmod(0o644); err != nil {
		return errors.Join(err, tmp.Close())
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), outPath)
}
