// Package layer checks the Lambda layer zips `make layer` builds. With
// LAYER_DIST set (by `make test`) it checks the zips in that directory, which
// must exist; without it, it builds zips from a small static binary so the
// layout, mode, config and ELF checks still run.
package layer

import (
	"archive/zip"
	"bytes"
	"debug/elf"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/lambda-o11y/otelcol-lambda/internal/configuri"
	"github.com/lambda-o11y/otelcol-lambda/layer/internal/layertest"
	"github.com/lambda-o11y/otelcol-lambda/layer/internal/layerzip"
)

const defaultConfig = "../collector-config.yaml"

// maxUnzipped is Lambda's quota for a function and all its layers, unzipped.
const maxUnzipped = 250 * 1024 * 1024

var machines = map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64}

func TestLayerZips(t *testing.T) {
	wantConfig, err := os.ReadFile(defaultConfig)
	require.NoError(t, err)
	dist, fromMake := os.LookupEnv("LAYER_DIST")
	for _, arch := range []string{"amd64", "arm64"} {
		t.Run(arch, func(t *testing.T) {
			path := filepath.Join(dist, "otelcol-lambda-layer-"+arch+".zip")
			if !fromMake {
				path = filepath.Join(t.TempDir(), "layer.zip")
				bin := layertest.StaticBinary(t, arch)
				require.NoError(t, layerzip.WriteFile(path, arch, bin, bin, defaultConfig))
			}
			require.FileExists(t, path, "LAYER_DIST is set, so `make layer` must have built this zip")
			files := readLayer(t, path)

			assert.True(t, bytes.Equal(wantConfig, files[layerzip.ConfigPath]),
				"%s differs from %s: rebuild the layer", layerzip.ConfigPath, defaultConfig)
			checkCollectorConfig(t, files[layerzip.ConfigPath])
			checkStaticELF(t, files[layerzip.ExtensionPath], machines[arch])
			checkStaticELF(t, files[layerzip.CollectorPath], machines[arch])
			if fromMake && arch == runtime.GOARCH {
				validateConfig(t, files)
			}
		})
	}
}

// The default config URI of the receiver and the launcher must name the file
// the layer ships, as Lambda extracts layers under /opt.
func TestDefaultConfigURIMatchesLayer(t *testing.T) {
	assert.Equal(t, "/opt/"+layerzip.ConfigPath, configuri.Layer)
}

// readLayer checks the zip's entries, their order and modes, and Lambda's
// size quota, and returns the regular files' contents by name.
func readLayer(t *testing.T, path string) map[string][]byte {
	t.Helper()
	zr, err := zip.OpenReader(path)
	require.NoError(t, err)
	defer zr.Close()

	want := []struct {
		name string
		mode fs.FileMode
	}{
		{"extensions/", fs.ModeDir | 0o755},
		{"extensions/otelcol-lambda", 0o755},
		{"otelcol-lambda/", fs.ModeDir | 0o755},
		{"otelcol-lambda/collector", 0o755},
		{"collector-config/", fs.ModeDir | 0o755},
		{"collector-config/config.yaml", 0o644},
	}
	require.Len(t, zr.File, len(want))
	files := map[string][]byte{}
	var unzipped uint64
	for i, w := range want {
		f := zr.File[i]
		require.Equal(t, w.name, f.Name)
		assert.Equal(t, w.mode.String(), f.Mode().String(), f.Name)
		unzipped += f.UncompressedSize64
		if f.Mode().IsDir() {
			continue
		}
		rc, err := f.Open()
		require.NoError(t, err)
		body, err := io.ReadAll(rc) // also verifies the CRC
		require.NoError(t, err, f.Name)
		require.NoError(t, rc.Close())
		require.NotEmpty(t, body, f.Name)
		files[f.Name] = body
	}
	assert.LessOrEqual(t, unzipped, uint64(maxUnzipped), "layer exceeds Lambda's unzipped size quota")
	return files
}

// checkCollectorConfig checks that config is YAML with the receivers the
// layer depends on, one pipeline per signal fed by lambdatelemetry, and that
// every component a pipeline names is defined.
func checkCollectorConfig(t *testing.T, config []byte) {
	t.Helper()
	var cfg struct {
		Receivers  map[string]any `yaml:"receivers"`
		Processors map[string]any `yaml:"processors"`
		Exporters  map[string]any `yaml:"exporters"`
		Connectors map[string]any `yaml:"connectors"`
		Service    struct {
			Pipelines map[string]struct {
				Receivers  []string      `yaml:"receivers"`
				Processors componentList `yaml:"processors"`
				Exporters  []string      `yaml:"exporters"`
			} `yaml:"pipelines"`
		} `yaml:"service"`
	}
	require.NoError(t, yaml.Unmarshal(config, &cfg))

	for _, r := range []string{"lambdatelemetry", "otlp"} {
		assert.Contains(t, cfg.Receivers, r, "receivers")
	}
	for _, signal := range []string{"traces", "metrics", "logs"} {
		p, ok := cfg.Service.Pipelines[signal]
		if assert.True(t, ok, "no %s pipeline", signal) {
			assert.Contains(t, p.Receivers, "lambdatelemetry", "%s pipeline receivers", signal)
		}
	}
	for name, p := range cfg.Service.Pipelines {
		for _, id := range p.Receivers {
			assert.True(t, hasKey(id, cfg.Receivers, cfg.Connectors), "pipeline %s: receiver %q is not defined", name, id)
		}
		for _, id := range p.Processors {
			assert.True(t, hasKey(id, cfg.Processors), "pipeline %s: processor %q is not defined", name, id)
		}
		for _, id := range p.Exporters {
			assert.True(t, hasKey(id, cfg.Exporters, cfg.Connectors), "pipeline %s: exporter %q is not defined", name, id)
		}
		assert.NotEmpty(t, p.Exporters, "pipeline %s has no exporter", name)
	}
}

// componentList is a pipeline's list of component ids, written out or as
// ${env:NAME:-[ids]}, whose default (what the layer runs unless the
// function sets NAME) is the list checked.
type componentList []string

func (l *componentList) UnmarshalYAML(node *yaml.Node) error {
	if node.Kind != yaml.ScalarNode {
		return node.Decode((*[]string)(l))
	}
	ref, isRef := strings.CutPrefix(node.Value, "${env:")
	_, def, hasDefault := strings.Cut(strings.TrimSuffix(ref, "}"), ":-")
	if !isRef || !hasDefault {
		return fmt.Errorf("line %d: %q is neither a list nor ${env:NAME:-[default]}", node.Line, node.Value)
	}
	return yaml.Unmarshal([]byte(def), (*[]string)(l))
}

func hasKey(id string, sections ...map[string]any) bool {
	return slices.ContainsFunc(sections, func(m map[string]any) bool {
		_, ok := m[id]
		return ok
	})
}

// checkStaticELF checks what Lambda needs to exec the binary: the right
// machine, and no dynamic loader or shared library (the execution
// environment's libc is not the build machine's).
func checkStaticELF(t *testing.T, binary []byte, machine elf.Machine) {
	t.Helper()
	f, err := elf.NewFile(bytes.NewReader(binary))
	require.NoError(t, err)
	defer f.Close()
	assert.Equal(t, elf.ELFCLASS64, f.Class)
	assert.Equal(t, machine, f.Machine)
	assert.Equal(t, elf.ET_EXEC, f.Type)
	for _, p := range f.Progs {
		assert.NotEqual(t, elf.PT_INTERP, p.Type, "binary asks for a dynamic loader")
	}
	needed, err := f.DynString(elf.DT_NEEDED)
	require.NoError(t, err)
	assert.Empty(t, needed, "binary needs shared libraries")
}

// validateConfig runs `validate` on the shipped config through the shipped
// launcher, which outside Lambda execs the shipped collector: every component
// the config names must be built in.
func validateConfig(t *testing.T, files map[string][]byte) {
	t.Helper()
	dir := t.TempDir()
	paths := map[string]string{}
	for _, name := range []string{layerzip.ExtensionPath, layerzip.CollectorPath, layerzip.ConfigPath} {
		paths[name] = filepath.Join(dir, filepath.FromSlash(name))
		require.NoError(t, os.MkdirAll(filepath.Dir(paths[name]), 0o755))
		require.NoError(t, os.WriteFile(paths[name], files[name], 0o755))
	}
	cmd := exec.CommandContext(t.Context(), paths[layerzip.ExtensionPath], "validate", "--config=file:"+paths[layerzip.ConfigPath])
	// A clean environment: no AWS_LAMBDA_RUNTIME_API (so the launcher execs
	// the collector, which keeps our --config), the collector where this
	// test put it, and the endpoint the default config requires.
	cmd.Env = []string{
		"OTELCOL_LAMBDA_COLLECTOR=" + paths[layerzip.CollectorPath],
		"OTELCOL_LAMBDA_OTLP_ENDPOINT=http://127.0.0.1:4318",
	}
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s validate: %s", cmd.Path, out)
}
