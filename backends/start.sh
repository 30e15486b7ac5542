#!/usr/bin/env bash
# start.sh starts VictoriaLogs, VictoriaMetrics and Jaeger on 127.0.0.1 with
# their data under $BACKENDS_STATE, waits until each answers its health
# check, writes $BACKENDS_STATE/endpoints.env and prints the endpoints.
# Stop them with stop.sh (same BACKENDS_STATE). Run install.sh first.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"

log() { printf 'start: %s\n' "$*"; }
die() {
	printf 'start: error: %s\n' "$*" >&2
	exit 1
}

# http_status PORT PATH prints the HTTP status code of GET 127.0.0.1:PORT/PATH,
# or fails if nothing answers. Bash's /dev/tcp, so CI needs no curl.
http_status() {
	(
		exec 3<>"/dev/tcp/127.0.0.1/$1"
		printf 'GET %s HTTP/1.0\r\nHost: 127.0.0.1:%s\r\nConnection: close\r\n\r\n' "$2" "$1" >&3
		IFS=' ' read -r -t 5 _ code _ <&3
		echo "$code"
	) 2>/dev/null
}

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

for b in "${BACKENDS[@]}"; do
	[[ -x "$BACKENDS_BIN/$b" ]] || die "$BACKENDS_BIN/$b is missing: run backends/install.sh"
	if [[ -f "$BACKENDS_STATE/$b.pid" ]] && alive "$(cat "$BACKENDS_STATE/$b.pid")"; then
		die "$b already runs from $BACKENDS_STATE (pid $(cat "$BACKENDS_STATE/$b.pid")): run backends/stop.sh first"
	fi
done
# A port taken by something else would make the health checks below pass
# against the wrong server.
for p in "$VICTORIALOGS_PORT" "$VICTORIAMETRICS_PORT" "$JAEGER_OTLP_GRPC_PORT" "$JAEGER_OTLP_HTTP_PORT" \
	"$JAEGER_QUERY_HTTP_PORT" "$JAEGER_QUERY_GRPC_PORT" "$JAEGER_HEALTH_PORT"; do
	port_free "$p" || die "127.0.0.1:$p is already in use (set the *_PORT variables of backends/env.sh to move)"
done

mkdir -p "$BACKENDS_STATE"
# stop.sh removes only a directory carrying this marker.
touch "$BACKENDS_STATE/.otelcol-lambda-backends"
log "state: $BACKENDS_STATE"

# launch NAME ARGS... starts $BACKENDS_BIN/NAME in the background with its
# output in NAME.log and its pid in NAME.pid.
launch() {
	local name=$1
	shift
	"$BACKENDS_BIN/$name" "$@" >"$BACKENDS_STATE/$name.log" 2>&1 &
	echo $! >"$BACKENDS_STATE/$name.pid"
	log "$name: pid $!: $BACKENDS_BIN/$name $*"
}

# wait_healthy NAME PORT PATH polls until GET PATH answers 200, for at most
# 120 s; a process that exits meanwhile fails at once with its log.
wait_healthy() {
	local name=$1 port=$2 path=$3 pid start=$SECONDS
	pid=$(cat "$BACKENDS_STATE/$name.pid")
	until [[ "$(http_status "$port" "$path")" == 200 ]]; do
		if ! alive "$pid"; then
			tail -n 30 "$BACKENDS_STATE/$name.log" >&2
			"$BACKENDS_DIR/stop.sh"
			die "$name exited during start-up (log above)"
		fi
		if ((SECONDS - start > 120)); then
			tail -n 30 "$BACKENDS_STATE/$name.log" >&2
			"$BACKENDS_DIR/stop.sh"
			die "$name not healthy on 127.0.0.1:$port$path after 120 s (log above)"
		fi
		sleep 0.2
	done
	log "$name: healthy after $((SECONDS - start)) s (GET 127.0.0.1:$port$path)"
}

launch victoria-logs \
	-httpListenAddr="127.0.0.1:$VICTORIALOGS_PORT" \
	-storageDataPath="$BACKENDS_STATE/victoria-logs-data"
# -search.latencyOffset=0s: by default an instant query at "now" is evaluated
# 30 s in the past, so a test would not see what it has just sent.
# -search.disableCache: no cached results across a test's repeated queries.
launch victoria-metrics \
	-httpListenAddr="127.0.0.1:$VICTORIAMETRICS_PORT" \
	-storageDataPath="$BACKENDS_STATE/victoria-metrics-data" \
	-search.latencyOffset=0s \
	-search.disableCache
launch jaeger --config "$BACKENDS_DIR/jaeger-config.yaml"

wait_healthy victoria-logs "$VICTORIALOGS_PORT" /health
wait_healthy victoria-metrics "$VICTORIAMETRICS_PORT" /health
wait_healthy jaeger "$JAEGER_HEALTH_PORT" /status
wait_healthy jaeger "$JAEGER_QUERY_HTTP_PORT" /api/services

cat >"$BACKENDS_STATE/endpoints.env" <<EOF
# Written by backends/start.sh; source it to reach the running backends.
JAEGER_OTLP_GRPC=127.0.0.1:$JAEGER_OTLP_GRPC_PORT
JAEGER_OTLP_HTTP=http://127.0.0.1:$JAEGER_OTLP_HTTP_PORT
JAEGER_QUERY=http://127.0.0.1:$JAEGER_QUERY_HTTP_PORT
VICTORIALOGS=http://127.0.0.1:$VICTORIALOGS_PORT
VICTORIAMETRICS=http://127.0.0.1:$VICTORIAMETRICS_PORT
EOF

cat <<EOF
start: all healthy. OTLP/HTTP (protobuf) endpoints:
  traces  -> Jaeger           http://127.0.0.1:$JAEGER_OTLP_HTTP_PORT/v1/traces   (OTLP/gRPC 127.0.0.1:$JAEGER_OTLP_GRPC_PORT)
  logs    -> VictoriaLogs     http://127.0.0.1:$VICTORIALOGS_PORT/insert/opentelemetry/v1/logs
  metrics -> VictoriaMetrics  http://127.0.0.1:$VICTORIAMETRICS_PORT/opentelemetry/v1/metrics
Query APIs and UIs:
  Jaeger           http://127.0.0.1:$JAEGER_QUERY_HTTP_PORT/api/traces/<trace id>  (UI: placeholder page only, see backends/README.md)
  VictoriaLogs     http://127.0.0.1:$VICTORIALOGS_PORT/select/logsql/query?query=...  UI: http://127.0.0.1:$VICTORIALOGS_PORT/select/vmui/
  VictoriaMetrics  http://127.0.0.1:$VICTORIAMETRICS_PORT/api/v1/query?query=...  UI: http://127.0.0.1:$VICTORIAMETRICS_PORT/vmui/
Endpoints for scripts: $BACKENDS_STATE/endpoints.env; stop with backends/stop.sh
EOF
