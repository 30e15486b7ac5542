# shellcheck shell=bash disable=SC2034 # variables are for the scripts that source this
# Sourced by install.sh, start.sh, stop.sh and smoke_test.sh: the pinned
# versions, where the binaries are cached, where a running set keeps its state,
# and the loopback ports. Every value can be overridden from the environment.

BACKENDS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

VICTORIALOGS_MODULE=github.com/VictoriaMetrics/VictoriaLogs
VICTORIALOGS_VERSION=v1.52.1
VICTORIAMETRICS_MODULE=github.com/VictoriaMetrics/VictoriaMetrics
VICTORIAMETRICS_VERSION=v1.151.0
# Jaeger is pinned by tools/jaeger/go.mod (its `tool` directive), read here so
# the version lives in one place.
JAEGER_VERSION=$(awk '$1 == "github.com/jaegertracing/jaeger" { print $2 }' "$BACKENDS_DIR/tools/jaeger/go.mod")

# One cache directory per set of versions: bumping a version builds afresh,
# the same versions are never built twice.
BACKENDS_BIN=${BACKENDS_BIN:-${XDG_CACHE_HOME:-$HOME/.cache}/otelcol-lambda/backends/jaeger-${JAEGER_VERSION}_victorialogs-${VICTORIALOGS_VERSION}_victoriametrics-${VICTORIAMETRICS_VERSION}}

# Data directories, logs, pid files and endpoints.env of a running set.
BACKENDS_STATE=${BACKENDS_STATE:-${TMPDIR:-/tmp}/otelcol-lambda-backends}

# Ports, all bound to 127.0.0.1. Jaeger's OTLP and health ports stay off the
# collector's defaults (4317/4318, 13133) so both run side by side.
JAEGER_OTLP_GRPC_PORT=${JAEGER_OTLP_GRPC_PORT:-14317}
JAEGER_OTLP_HTTP_PORT=${JAEGER_OTLP_HTTP_PORT:-14318}
JAEGER_QUERY_HTTP_PORT=${JAEGER_QUERY_HTTP_PORT:-16686}
JAEGER_QUERY_GRPC_PORT=${JAEGER_QUERY_GRPC_PORT:-16685}
JAEGER_HEALTH_PORT=${JAEGER_HEALTH_PORT:-14133}
VICTORIALOGS_PORT=${VICTORIALOGS_PORT:-9428}
VICTORIAMETRICS_PORT=${VICTORIAMETRICS_PORT:-8428}
export JAEGER_OTLP_GRPC_PORT JAEGER_OTLP_HTTP_PORT JAEGER_QUERY_HTTP_PORT JAEGER_QUERY_GRPC_PORT JAEGER_HEALTH_PORT

# The three backends, in start order; stop.sh goes in reverse.
BACKENDS=(victoria-logs victoria-metrics jaeger)

# alive PID: the process exists and is neither a zombie nor dead (a backend
# that died during start.sh stays a zombie child of start.sh for a while).
# The state is read once: /proc/PID can vanish between two reads.
alive() {
	local state
	state=$(awk '$1 == "State:" { print $2 }' "/proc/$1/status" 2>/dev/null) || return 1
	[[ -n "$state" && "$state" != Z && "$state" != X ]]
}
