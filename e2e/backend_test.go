package e2e

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/lambda-o11y/otelcol-lambda/internal/faultbackend"
	"github.com/lambda-o11y/otelcol-lambda/internal/loopback"
)

// backend is the user's observability backend: the stock OTLP receiver,
// in-process, behind the fault-injecting proxy (healthy unless a test says
// otherwise).
type backend struct{ *faultbackend.Backend }

func startBackend(t *testing.T) backend {
	t.Helper()
	b, err := faultbackend.Start()
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, b.Close()) })
	return backend{b}
}

// freeAddr returns a loopback address whose port was free a moment ago.
func freeAddr(t testing.TB) string {
	t.Helper()
	addr, err := loopback.FreeAddr()
	require.NoError(t, err)
	return addr
}

// extensionBinary is the OCB-built distribution; `make test` passes it.
func extensionBinary(t testing.TB) string {
	return builtBinary(t, "OTELCOL_LAMBDA_BIN", "the distribution")
}

// gatewayBinary is the OCB-built gateway distribution (`make gateway`).
func gatewayBinary(t testing.TB) string {
	return builtBinary(t, "OTELCOL_LAMBDA_GATEWAY_BIN", "the gateway (`make gateway`)")
}

// builtBinary is the binary the variable env names, which `make test`
// builds first; without it the whole-binary test is skipped.
func builtBinary(t testing.TB, env, what string) string {
	t.Helper()
	bin := os.Getenv(env)
	if bin == "" {
		t.Skipf("%s is not set: run `make test`, which builds %s and runs these whole-binary tests", env, what)
	}
	_, err := os.Stat(bin)
	require.NoError(t, err, env)
	return bin
}

// repoFile returns the path of a file at the repository root.
func repoFile(name string) string {
	_, here, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(here), "..", name)
}

// lastSum is the final value of a cumulative integer sum the backend got,
// or the final count of a cumulative histogram (all series together).
func (b backend) lastSum(name string) (int64, bool) {
	v, ok := b.LastValue(name, nil)
	return int64(v), ok
}
