package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// reuseManifest is a user's own OCB manifest: the stock OTLP receiver and
// debug exporter, plus (with jsonlogparse) this module's processor named by
// module path and version, replaced by the checkout.
func reuseManifest(name string, jsonlogparse bool) string {
	var sb strings.Builder
	sb.WriteString("dist:\n  name: " + name + "\n  output_path: ./_build\n")
	sb.WriteString("receivers:\n  - gomod: go.opentelemetry.io/collector/receiver/otlpreceiver v0.161.0\n")
	if jsonlogparse {
		sb.WriteString("processors:\n  - gomod: github.com/lambda-o11y/otelcol-lambda v0.0.0\n" +
			"    import: github.com/lambda-o11y/otelcol-lambda/processor/jsonlogparseprocessor\n")
	}
	sb.WriteString("exporters:\n  - gomod: go.opentelemetry.io/collector/exporter/debugexporter v0.161.0\n")
	sb.WriteString("providers:\n  - gomod: go.opentelemetry.io/collector/confmap/provider/fileprovider v1.67.0\n")
	if jsonlogparse {
		sb.WriteString("replaces:\n  - github.com/lambda-o11y/otelcol-lambda => " + repoFile(".") + "\n")
	}
	return sb.String()
}

// reuseBuild runs OCB on the manifest in a scratch directory and returns the
// modules linked into the binary, the generated go.mod's requirements (path
// and path@version) and the modules go.sum names.
func reuseBuild(t *testing.T, ocb, name string, jsonlogparse bool) (linked, required, versions, summed []string) {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "manifest.yaml"), []byte(reuseManifest(name, jsonlogparse)), 0o600))
	cmd := exec.Command(ocb, "--config", "manifest.yaml")
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, string(out))
	build := filepath.Join(dir, "_build")

	out, err = exec.Command("go", "version", "-m", filepath.Join(build, name)).Output()
	require.NoError(t, err)
	for line := range strings.Lines(string(out)) {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "dep" {
			linked = append(linked, f[1])
		}
	}
	edit := exec.Command("go", "mod", "edit", "-json")
	edit.Dir = build
	out, err = edit.Output()
	require.NoError(t, err)
	var mod struct {
		Require []struct{ Path, Version string }
	}
	require.NoError(t, json.Unmarshal(out, &mod))
	for _, r := range mod.Require {
		required = append(required, r.Path)
		versions = append(versions, r.Path+"@"+r.Version)
	}
	sum, err := os.Open(filepath.Join(build, "go.sum"))
	require.NoError(t, err)
	defer sum.Close()
	for s := bufio.NewScanner(sum); s.Scan(); {
		if f := strings.Fields(s.Text()); len(f) > 0 && !slices.Contains(summed, f[0]) {
			summed = append(summed, f[0])
		}
	}
	return linked, required, versions, summed
}

func without(a, b []string) []string {
	var out []string
	for _, m := range a {
		if !slices.Contains(b, m) {
			out = append(out, m)
		}
	}
	return out
}

// TestReuseJSONLogParseFromOutside proves the components are reusable: a
// user's OCB manifest in a scratch directory that names only jsonlogparse
// from this module builds, and compared with the same manifest without it,
// its binary and go.mod gain only modules that the processor's own
// (non-test) packages import. What go.sum gains beyond that (the modules the
// processor's tests and benchmarks import: `go mod tidy` records checksums
// one test level deep) is logged; it is not linked and not required. So are
// the versions of modules both builds require that this module's go.mod
// raises (minimal version selection takes its whole requirement list).
func TestReuseJSONLogParseFromOutside(t *testing.T) {
	ocb := os.Getenv("OTELCOL_LAMBDA_OCB")
	if ocb == "" {
		t.Skip("OTELCOL_LAMBDA_OCB is not set: `make test` passes the pinned builder")
	}
	out, err := exec.Command("go", "list", "-deps", "-f", "{{with .Module}}{{.Path}}{{end}}", "github.com/lambda-o11y/otelcol-lambda/processor/jsonlogparseprocessor").Output()
	if err != nil {
		t.Fatal(err)
	}
	var needed []string
	for m := range strings.Lines(string(bytes.TrimSpace(out))) {
		needed = append(needed, strings.TrimSpace(m))
	}

	baseLinked, baseRequired, baseVersions, baseSummed := reuseBuild(t, ocb, "otelcol-base", false)
	linked, required, versions, summed := reuseBuild(t, ocb, "otelcol-with-jsonlogparse", true)

	gainedLinked := without(linked, baseLinked)
	gainedRequired := without(required, baseRequired)
	assert.Contains(t, gainedLinked, "github.com/lambda-o11y/otelcol-lambda")
	assert.Empty(t, without(gainedLinked, needed), "linked modules the processor does not import (gained: %v)", gainedLinked)
	assert.Empty(t, without(gainedRequired, needed), "go.mod requirements the processor does not import (gained: %v)", gainedRequired)
	t.Logf("binary gains %v; go.mod gains %v", gainedLinked, gainedRequired)
	var raised []string
	for _, v := range without(versions, baseVersions) {
		if path, _, _ := strings.Cut(v, "@"); slices.Contains(baseRequired, path) {
			raised = append(raised, v)
		}
	}
	t.Logf("versions raised by this module's go.mod: %v", raised)
	t.Logf("go.sum gains %d modules beyond those (test and benchmark imports of the processor's package): %v",
		len(without(without(summed, baseSummed), needed)), without(without(summed, baseSummed), needed))
}
