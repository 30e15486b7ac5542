package skywalking

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.yaml.in/yaml/v3"
)

// TestPresetValidates loads the preset as `otelcol-lambda validate` does,
// with the distribution's factories, and checks its pipelines.
func TestPresetValidates(t *testing.T) {
	for _, tc := range []struct {
		name    string
		address string
		wantErr string
	}{
		{name: "oap address set", address: "127.0.0.1:11800"},
		// The exporter has no default: an unset SW_OAP_ADDRESS must stop the
		// collector at start-up rather than export nowhere.
		{name: "oap address unset", address: "", wantErr: "otlp_grpc/skywalking"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("SW_OAP_ADDRESS", tc.address)
			err := newCollector(t, newDistribution(t)).DryRun(context.Background())
			if tc.wantErr == "" {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.wantErr)
		})
	}
}

// TestPresetValidatesWithBinary runs the OCB-built binary's own validate
// command on the preset (set OTELCOL_LAMBDA_BIN, as `make test` does): the
// same cases as TestPresetValidates, with the binary's telemetry factory.
func TestPresetValidatesWithBinary(t *testing.T) {
	bin := os.Getenv("OTELCOL_LAMBDA_BIN")
	if bin == "" {
		t.Skip("OTELCOL_LAMBDA_BIN is not set; TestPresetValidates covers the same components in-process")
	}
	for _, tc := range []struct {
		name, address, wantErr string
	}{
		{name: "oap address set", address: "127.0.0.1:11800"},
		{name: "oap address unset", address: "", wantErr: `otlp_grpc/skywalking: requires a non-empty "endpoint"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(bin, "validate", "--config=file:"+kitFile("collector-config.yaml"))
			cmd.Env = append(os.Environ(), "SW_OAP_ADDRESS="+tc.address)
			out, err := cmd.CombinedOutput()
			if tc.wantErr == "" {
				require.NoError(t, err, "%s validate:\n%s", bin, out)
				return
			}
			require.Error(t, err)
			assert.Contains(t, string(out), tc.wantErr)
		})
	}
}

// TestPresetComponentsAreInTheBuild checks that every component the preset
// names is in builder-config.yaml: the layer's binary has only those.
func TestPresetComponentsAreInTheBuild(t *testing.T) {
	type module struct {
		GoMod  string `yaml:"gomod"`
		Import string `yaml:"import"`
	}
	var manifest struct {
		Receivers  []module `yaml:"receivers"`
		Processors []module `yaml:"processors"`
		Exporters  []module `yaml:"exporters"`
		Connectors []module `yaml:"connectors"`
	}
	readYAML(t, repoFile("builder-config.yaml"), &manifest)
	built := map[string]bool{}
	for _, list := range [][]module{manifest.Receivers, manifest.Processors, manifest.Exporters, manifest.Connectors} {
		for _, m := range list {
			path := m.Import
			if path == "" {
				path, _, _ = strings.Cut(m.GoMod, " ")
			}
			built[path] = true
		}
	}

	var preset map[string]map[string]any
	readYAML(t, kitFile("collector-config.yaml"), &preset)
	d := newDistribution(t)
	for _, kind := range []string{"receivers", "processors", "exporters", "connectors"} {
		for id := range preset[kind] {
			var cid component.ID
			require.NoError(t, cid.UnmarshalText([]byte(id)))
			path, ok := d.importPaths[cid.Type()]
			require.True(t, ok, "%s %q is not a component of the distribution", kind, id)
			assert.True(t, built[path], "%s %q (%s) is used by the preset but not in builder-config.yaml", kind, id, path)
		}
	}
}

func readYAML(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	require.NoError(t, yaml.Unmarshal(b, v), path)
}
