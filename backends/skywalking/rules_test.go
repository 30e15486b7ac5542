package skywalking

import (
	"bytes"
	"os"
	"path"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

// readStrictYAML decodes path into v, refusing keys v does not have.
func readStrictYAML(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	require.NoError(t, dec.Decode(v), path)
}

var layerName = regexp.MustCompile(`^[A-Z][A-Z0-9_]*$`)

// TestLALFile: the keys the OAP's LAL loader reads (rules[].name, layer, dsl),
// names unique within a layer, and the extractor reading the trace id
// attribute the preset writes.
func TestLALFile(t *testing.T) {
	var lal lalFile
	readStrictYAML(t, kitFile("lal/lambda.yaml"), &lal)
	require.NotEmpty(t, lal.Rules)
	names := presetSkyWalkingAttrs(t)
	seen := map[string]bool{}
	for _, r := range lal.Rules {
		require.NotEmpty(t, r.Name)
		assert.Regexp(t, layerName, r.Layer, "rule %q: layer", r.Name)
		assert.False(t, seen[r.Layer+"/"+r.Name], "rule %q repeated in layer %s", r.Name, r.Layer)
		seen[r.Layer+"/"+r.Name] = true
		dsl := strings.TrimSpace(r.DSL)
		assert.True(t, strings.HasPrefix(dsl, "filter {"), "rule %q: dsl is a filter", r.Name)
		assert.Equal(t, strings.Count(dsl, "{"), strings.Count(dsl, "}"), "rule %q: braces", r.Name)
		assert.Contains(t, dsl, `traceId tag("`+names.traceID+`")`, "rule %q", r.Name)
		assert.Contains(t, dsl, "sink {", "rule %q stores the logs", r.Name)
	}
}

// TestMALFile: the keys the OAP's rule loader reads, unique rule names,
// balanced expressions, a rule for every metric the preset derives (the OAP
// drops metrics no rule reads), and no MAL the pinned OAP cannot compile.
func TestMALFile(t *testing.T) {
	var mal malFile
	readStrictYAML(t, kitFile("otel-rules/lambda.yaml"), &mal)
	assert.NotEmpty(t, mal.Filter)
	assert.Contains(t, mal.ExpSuffix, "service(")
	assert.NotEmpty(t, mal.MetricPrefix)
	require.NotEmpty(t, mal.MetricsRules)
	read := map[string]bool{}
	seen := map[string]bool{}
	for _, r := range mal.MetricsRules {
		require.NotEmpty(t, r.Name)
		require.NotEmpty(t, r.Exp, "rule %q", r.Name)
		assert.False(t, seen[r.Name], "rule %q repeated", r.Name)
		seen[r.Name] = true
		for _, pair := range []string{"()", "[]"} {
			assert.Equal(t, strings.Count(r.Exp, pair[:1]), strings.Count(r.Exp, pair[1:]), "rule %q: %s", r.Name, pair)
		}
		for _, f := range families(r.Exp) {
			read[f] = true
		}
		// TimeUnit entered MAL's enum table in apache/skywalking c171fbfdb7,
		// after 10.4.0: the released OAPs fail to compile such a rule.
		if oapAtMost(t, "10.4.0") {
			assert.NotContains(t, r.Exp, "TimeUnit", "rule %q: not compilable by the pinned OAP", r.Name)
		}
	}
	seed := presetSeedRule(t)
	for _, family := range []string{seed.Name, seed.Name + "_count", seed.Name + "_sum"} {
		if read[family] {
			return
		}
	}
	t.Errorf("no rule reads %s: the OAP would drop it", seed.Name)
}

// composeFile is the part of docker-compose.yaml the kit relies on.
type composeFile struct {
	Services map[string]struct {
		Image       string            `yaml:"image"`
		Ports       []string          `yaml:"ports"`
		Environment map[string]string `yaml:"environment"`
		Volumes     []string          `yaml:"volumes"`
	} `yaml:"services"`
}

func readCompose(t *testing.T) composeFile {
	t.Helper()
	var c composeFile
	readYAML(t, kitFile("docker-compose.yaml"), &c)
	return c
}

// oapAtMost says whether the compose file's OAP image is at most version.
func oapAtMost(t *testing.T, version string) bool {
	t.Helper()
	image := readCompose(t).Services["oap"].Image
	_, tag, ok := strings.Cut(image, ":")
	require.True(t, ok, "oap image %q has a tag", image)
	return compareVersions(tag, version) <= 0
}

func compareVersions(a, b string) int {
	pa, pb := strings.Split(a, "."), strings.Split(b, ".")
	for i := range max(len(pa), len(pb)) {
		var x, y string
		if i < len(pa) {
			x = pa[i]
		}
		if i < len(pb) {
			y = pb[i]
		}
		if len(x) != len(y) {
			return len(x) - len(y)
		}
		if c := strings.Compare(x, y); c != 0 {
			return c
		}
	}
	return 0
}

var pinnedTag = regexp.MustCompile(`:\d+\.\d+\.\d+$`)

// TestComposeFile: pinned images, loopback-only ports, the OAP settings the
// kit needs, and the rule files mounted where the OAP loads them.
func TestComposeFile(t *testing.T) {
	c := readCompose(t)
	for _, name := range []string{"oap", "ui"} {
		require.Contains(t, c.Services, name)
	}
	for name, s := range c.Services {
		assert.Regexp(t, pinnedTag, s.Image, "service %s: image pinned to a release", name)
		for _, p := range s.Ports {
			assert.True(t, strings.HasPrefix(p, "127.0.0.1:"), "service %s: port %q bound to loopback only", name, p)
		}
	}
	assert.True(t, strings.HasPrefix(c.Services["oap"].Image, "apache/skywalking-oap-server:10."), c.Services["oap"].Image)
	assert.True(t, strings.HasPrefix(c.Services["ui"].Image, "apache/skywalking-ui:10."), c.Services["ui"].Image)
	assert.Contains(t, c.Services["oap"].Ports, "127.0.0.1:11800:11800", "OTLP/gRPC")

	env := c.Services["oap"].Environment
	list := func(key string) []string {
		var out []string
		for item := range strings.SplitSeq(env[key], ",") {
			out = append(out, strings.TrimSpace(item))
		}
		return out
	}
	assert.Equal(t, "default", env["SW_OTEL_RECEIVER"])
	assert.ElementsMatch(t, []string{"otlp-traces", "otlp-metrics", "otlp-logs"}, list("SW_OTEL_RECEIVER_ENABLED_HANDLERS"))
	assert.Equal(t, "default", env["SW_RECEIVER_ZIPKIN"])
	assert.Equal(t, "default", env["SW_QUERY_ZIPKIN"])
	assert.Contains(t, list("SW_OTEL_RECEIVER_ENABLED_OTEL_METRICS_RULES"), "lambda")
	assert.Contains(t, list("SW_LOG_LAL_FILES"), "lambda")

	// The stock default.yaml is a GENERAL rule that sinks everything: with a
	// GENERAL rule of ours enabled too, every log would be stored twice.
	var lal lalFile
	readYAML(t, kitFile("lal/lambda.yaml"), &lal)
	if slices.Contains(lalLayers(lal), "GENERAL") {
		assert.NotContains(t, list("SW_LOG_LAL_FILES"), "default")
	}

	mounts := map[string]string{}
	for _, v := range c.Services["oap"].Volumes {
		parts := strings.Split(v, ":")
		require.GreaterOrEqual(t, len(parts), 2, v)
		mounts[path.Clean(parts[0])] = parts[1]
	}
	for file, dir := range map[string]string{"otel-rules/lambda.yaml": "/skywalking/config/otel-rules/", "lal/lambda.yaml": "/skywalking/config/lal/"} {
		require.FileExists(t, kitFile(file))
		assert.Equal(t, dir+path.Base(file), mounts[file], "%s mounted into the OAP's %s", file, dir)
	}
}
