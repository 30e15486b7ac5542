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
// executable in /opt/extensions as an external extension: that is the
// launcher (layer/launcher), which registers at once and runs the collector
// from CollectorPath, outside extensions/ so that Lambda does not start it too.
const (
	ExtensionDir  = "extensions/"
	ExtensionPath = ExtensionDir + "otelcol-lambda"
	CollectorDir  = "otelcol-lambda/"
	CollectorPath = CollectorDir + "collector"
	ConfigDir     = "collector-config/"
	ConfigPath    = ConfigDir + "config.yaml"
)

// modified is the timestamp of every entry, so the same inputs always give
// the same bytes. 1980-01-01 is the earliest time the zip format can hold.
var modified = time.Date(1980, time.January, 1, 0, 0, 0, 0, time.UTC)

// Write writes the layer to w: each directory followed by its file, the
// launcher and the collector (0755) and the collector config (0644), deflated.
func Write(w io.Writer, launcher, collector, config io.Reader) error {
	zw := zip.NewWriter(w)
	entries := []struct {
		name string
		mode fs.FileMode
		body io.Reader
	}{
		{ExtensionDir, fs.ModeDir | 0o755, nil},
		{ExtensionPath, 0o755, launcher},
		{CollectorDir, fs.ModeDir | 0o755, nil},
		{CollectorPath, 0o755, collector},
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

// WriteFile checks that launcherPath and collectorPath are static Linux
// executables for goarch and that configPath is a non-empty file, then writes
// the layer to outPath. The archive is written to a temporary file next to
// outPath and renamed, so a failure never leaves a truncated zip behind.
func WriteFile(outPath, goarch, launcherPath, collectorPath, configPath string) (err error) {
	launcher, err := openBinary("launcher", launcherPath, goarch)
	if err != nil {
		return err
	}
	defer launcher.Close()
	collector, err := openBinary("collector", collectorPath, goarch)
	if err != nil {
		return err
	}
	defer collector.Close()
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
	if err := Write(tmp, launcher, collector, cfg); err != nil {
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

// openBinary opens path, checked to be a static executable for goarch.
func openBinary(what, path, goarch string) (*os.File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	if err := CheckStaticELF(f, goarch); err != nil {
		return nil, errors.Join(fmt.Errorf("%s %s: %w", what, path, err), f.Close())
	}
	return f, nil
}
