package layer

import (
	"maps"
	"os"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

// The SAM example must point each architecture's layer at the zip `make
// layer` writes for it, and the example function at the layer of its own
// architecture with the variables the default config needs.
func TestTemplateMatchesLayerZips(t *testing.T) {
	b, err := os.ReadFile("template.yaml")
	require.NoError(t, err)
	var tpl struct {
		Resources map[string]struct {
			Type       string `yaml:"Type"`
			Properties struct {
				ContentUri              string   `yaml:"ContentUri"`
				CompatibleArchitectures []string `yaml:"CompatibleArchitectures"`
				LicenseInfo             string   `yaml:"LicenseInfo"`
				Architectures           []string `yaml:"Architectures"`
				Layers                  []string `yaml:"Layers"`
				Tracing                 string   `yaml:"Tracing"`
				Environment             struct {
					Variables map[string]string `yaml:"Variables"`
				} `yaml:"Environment"`
			} `yaml:"Properties"`
		} `yaml:"Resources"`
	}
	// !Ref X decodes as the plain string X.
	require.NoError(t, yaml.Unmarshal(b, &tpl))

	zipOf := map[string]string{
		"x86_64": "../dist/otelcol-lambda-layer-amd64.zip",
		"arm64":  "../dist/otelcol-lambda-layer-arm64.zip",
	}
	layerArch := map[string]string{}
	for name, r := range tpl.Resources {
		if r.Type != "AWS::Serverless::LayerVersion" {
			continue
		}
		require.Len(t, r.Properties.CompatibleArchitectures, 1, name)
		arch := r.Properties.CompatibleArchitectures[0]
		assert.Equal(t, zipOf[arch], r.Properties.ContentUri, name)
		assert.Equal(t, "Apache-2.0", r.Properties.LicenseInfo, name)
		layerArch[name] = arch
	}
	assert.ElementsMatch(t, []string{"x86_64", "arm64"}, slices.Collect(maps.Values(layerArch)))

	var functions int
	for name, r := range tpl.Resources {
		if r.Type != "AWS::Serverless::Function" {
			continue
		}
		functions++
		require.Len(t, r.Properties.Architectures, 1, name)
		for _, l := range r.Properties.Layers {
			assert.Equal(t, r.Properties.Architectures[0], layerArch[l], "%s uses layer %s", name, l)
		}
		assert.Equal(t, "Active", r.Properties.Tracing, name)
		for _, v := range []string{"OTELCOL_LAMBDA_OTLP_ENDPOINT", "OPENTELEMETRY_COLLECTOR_CONFIG_URI"} {
			assert.Contains(t, r.Properties.Environment.Variables, v, name)
		}
	}
	assert.Equal(t, 1, functions)
}
