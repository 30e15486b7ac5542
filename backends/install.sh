#!/usr/bin/env bash
# install.sh builds the pinned backends from source through the Go module
# proxy (no prebuilt downloads) into $BACKENDS_BIN and skips any binary that
# is already there, so a repeated CI run costs nothing.
#
#   VictoriaLogs and VictoriaMetrics: `go install module/app/...@version`,
#   which builds with exactly the versions of their own go.mod.
#   Jaeger v2: `go install ...@version` refuses it (its go.mod has a replace
#   directive), so tools/jaeger/go.mod pins it as a tool, with the same
#   requirements and replace, and it is built from there.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"

log() { printf 'install: %s\n' "$*"; }

mkdir -p "$BACKENDS_BIN"
log "cache: $BACKENDS_BIN"

# build NAME CMD... runs CMD (which writes $BACKENDS_BIN/.NAME.tmp) unless
# NAME is already built, then moves the result into place so an interrupted
# build never leaves a half-written binary behind.
build() {
	local name=$1
	shift
	if [[ -x "$BACKENDS_BIN/$name" ]]; then
		log "$name: already built"
		return
	fi
	log "$name: building ($*)"
	local start=$SECONDS
	rm -f "$BACKENDS_BIN/.$name.tmp"
	"$@"
	mv "$BACKENDS_BIN/.$name.tmp" "$BACKENDS_BIN/$name"
	log "$name: built in $((SECONDS - start)) s ($(du -h "$BACKENDS_BIN/$name" | cut -f1))"
}

# go_install PKG@VERSION NAME: `go install` into a private GOBIN, outside any
# module, then rename to the temp name build() expects.
go_install() {
	local pkg=$1 name=$2 gobin
	gobin=$(mktemp -d)
	(cd "$gobin" && GOBIN="$gobin" go install -trimpath -ldflags='-s -w' "$pkg")
	mv "$gobin/$(basename "${pkg%@*}")" "$BACKENDS_BIN/.$name.tmp"
	rm -rf "$gobin"
}

jaeger_build() {
	(cd "$BACKENDS_DIR/tools/jaeger" && go build -trimpath -ldflags='-s -w' -o "$BACKENDS_BIN/.jaeger.tmp" github.com/jaegertracing/jaeger/cmd/jaeger)
}

build victoria-logs go_install "$VICTORIALOGS_MODULE/app/victoria-logs@$VICTORIALOGS_VERSION" victoria-logs
build victoria-metrics go_install "$VICTORIAMETRICS_MODULE/app/victoria-metrics@$VICTORIAMETRICS_VERSION" victoria-metrics
build jaeger jaeger_build
log "done: ${BACKENDS[*]} in $BACKENDS_BIN"
