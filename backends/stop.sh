#!/usr/bin/env bash
# stop.sh stops the backends that start.sh started from $BACKENDS_STATE (by
# their pid files only), then deletes that directory with their data, unless
# BACKENDS_KEEP_STATE=1. Safe to run twice or after a failed start.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"

log() { printf 'stop: %s\n' "$*"; }

if [[ ! -f "$BACKENDS_STATE/.otelcol-lambda-backends" ]]; then
	log "nothing to stop in $BACKENDS_STATE"
	exit 0
fi

for ((i = ${#BACKENDS[@]} - 1; i >= 0; i--)); do
	name=${BACKENDS[i]}
	pidfile=$BACKENDS_STATE/$name.pid
	[[ -f "$pidfile" ]] || continue
	pid=$(cat "$pidfile")
	# Only signal the pid if it is still our binary (pids are reused).
	if [[ "$(readlink "/proc/$pid/exe" 2>/dev/null)" == "$BACKENDS_BIN/$name" ]]; then
		kill -TERM "$pid" 2>/dev/null || true
		for _ in $(seq 150); do
			alive "$pid" || break
			sleep 0.2
		done
		if alive "$pid"; then
			log "$name (pid $pid) ignored SIGTERM for 30 s: SIGKILL"
			kill -KILL "$pid" 2>/dev/null || true
		fi
		log "$name (pid $pid) stopped"
	fi
	rm -f "$pidfile"
done

if [[ "${BACKENDS_KEEP_STATE:-0}" == 1 ]]; then
	log "kept $BACKENDS_STATE (logs, data)"
else
	rm -rf "$BACKENDS_STATE"
	log "removed $BACKENDS_STATE"
fi
