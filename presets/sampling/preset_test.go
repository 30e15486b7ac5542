package sampling

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
)

func readYAML(t *testing.T, path string) map[string]any {
	t.Helper()
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, yaml.Unmarshal(raw, &m))
	return m
}

// TestPresetIsTheDefaultPlusSampling: the preset cannot drift from the
// shipped config; without the invocationsampling processor and its two
// pipeline entries it is the same config.
func TestPresetIsTheDefaultPlusSampling(t *testing.T) {
	preset := readYAML(t, "collector-config.yaml")
	shipped := readYAML(t, filepath.Join("..", "..", "collector-config.yaml"))

	processors := preset["processors"].(map[string]any)
	require.Contains(t, processors, "invocationsampling")
	delete(processors, "invocationsampling")
	pipelines := preset["service"].(map[string]any)["pipelines"].(map[string]any)
	for _, name := range []string{"traces", "logs/export"} {
		p := pipelines[name].(map[string]any)
		list := p["processors"].([]any)
		assert.Equal(t, "invocationsampling", list[0], "%s: sampling first, before the spool", name)
		p["processors"] = slices.DeleteFunc(list, func(v any) bool { return v == "invocationsampling" })
	}
	for _, name := range []string{"metrics", "logs"} {
		assert.NotContains(t, pipelines[name].(map[string]any)["processors"], "invocationsampling", "%s sees 100%%", name)
	}
	assert.Equal(t, shipped, preset)
}
