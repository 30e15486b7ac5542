#!/usr/bin/env bash
# smoke_test.sh installs the backends if needed, starts them in a fresh state
# directory, sends one OTLP trace, log record and metric set with
# tools/cmd/smoke, waits (bounded) until each backend's query API shows them,
# and stops everything on exit, whatever happened.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"

start=$SECONDS
"$BACKENDS_DIR/install.sh"
echo "smoke_test: install step took $((SECONDS - start)) s"

BACKENDS_STATE=$(mktemp -d "${TMPDIR:-/tmp}/otelcol-lambda-backends-smoke.XXXXXX")
export BACKENDS_STATE
# The directory is ours (mktemp): remove it even if start.sh never marked it.
trap '"$BACKENDS_DIR/stop.sh"; rm -rf "$BACKENDS_STATE"' EXIT

smoke=$BACKENDS_STATE/smoke
(cd "$BACKENDS_DIR/tools" && go build -o "$smoke" ./cmd/smoke)

start=$SECONDS
"$BACKENDS_DIR/start.sh"
echo "smoke_test: start step took $((SECONDS - start)) s"

set -a
# shellcheck source=/dev/null # written by start.sh
source "$BACKENDS_STATE/endpoints.env"
set +a
start=$SECONDS
"$smoke" -timeout "${SMOKE_TIMEOUT:-60s}"
echo "smoke_test: send and query step took $((SECONDS - start)) s"
