# otelcol-lambda: build, test, layer, demo and benchmarks.
# Tools are installed with `go install` into ./.tools, pinned here.

SHELL := /bin/bash
OCB_VERSION := v0.161.0
RIE_VERSION := v0.0.0-20261030222936-bef5c4ba774d
TOOLS := $(CURDIR)/.tools
OCB := $(TOOLS)/builder
RIE := $(TOOLS)/aws-lambda-rie
BUILD := _build
DIST := dist
GOARCH ?= $(shell go env GOARCH)
BIN := $(DIST)/$(GOARCH)/otelcol-lambda
# The layer's extension: registers at exec, then runs $(BIN) (layer/launcher).
LAUNCHER := $(DIST)/$(GOARCH)/otelcol-lambda-launcher
# The gateway distribution (gateway/): a plain long-running collector.
GATEWAY_BUILD := _build-gateway
GATEWAY := $(DIST)/$(GOARCH)/otelcol-lambda-gateway
# grpcnotrace leaves out gRPC's golang.org/x/net/trace (off unless
# grpc.EnableTracing is set, which nothing here does): its html/template makes
# the linker keep every exported method of every reachable type, 6.8 MB of
# the collector binary (BENCHMARKS.md, "Footprint and start-up").
GOBUILD_STATIC := CGO_ENABLED=0 GOOS=linux GOARCH=$(GOARCH) go build -trimpath -tags grpcnotrace -ldflags='-s -w'
# A count, not a duration: a duration-based -fuzztime can fail with a bare
# "context deadline exceeded" at its end on a loaded machine (Go's fuzz
# coordinator race, golang/go#75804, unfixed in go1.26). 100000 executions
# take 6 to 30 s per target here.
FUZZTIME ?= 100000x

.PHONY: all build build-arch generate gateway layer test fuzz bench demo demo-backends tools clean

all: build

$(OCB):
	GOBIN=$(TOOLS) go install go.opentelemetry.io/collector/cmd/builder@$(OCB_VERSION)

$(RIE):
	GOBIN=$(TOOLS) go install github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie@$(RIE_VERSION)

tools: $(OCB) $(RIE)

# generate writes the OCB sources (main, components, go.mod) into $(BUILD).
generate: $(OCB)
	$(OCB) --config builder-config.yaml --skip-compilation

# build compiles static, stripped binaries for GOARCH (default: this
# machine's): the collector and the launcher.
build: generate
	$(MAKE) build-arch

# layer builds both architectures and zips each as a Lambda layer.
# gateway builds the gateway distribution (gateway/builder-config.yaml) for
# GOARCH, static like the extension.
gateway: $(OCB)
	$(OCB) --config gateway/builder-config.yaml --skip-compilation
	mkdir -p $(DIST)/$(GOARCH)
	cd $(GATEWAY_BUILD) && $(GOBUILD_STATIC) -o $(CURDIR)/$(GATEWAY) .

layer: generate
	$(MAKE) build-arch GOARCH=amd64
	$(MAKE) build-arch GOARCH=arm64
	for arch in amd64 arm64; do \
		go run ./layer/cmd/mkzip -arch $$arch -launcher $(DIST)/$$arch/otelcol-lambda-launcher -collector $(DIST)/$$arch/otelcol-lambda \
			-config collector-config.yaml -o $(DIST)/otelcol-lambda-layer-$$arch.zip || exit 1; \
	done

build-arch:
	mkdir -p $(DIST)/$(GOARCH)
	cd $(BUILD) && $(GOBUILD_STATIC) -o $(CURDIR)/$(BIN) .
	$(GOBUILD_STATIC) -o $(CURDIR)/$(LAUNCHER) ./layer/launcher

# test runs every test: unit, emulator, whole-binary (the binary built here,
# under the project's emulator and AWS's runtime emulator), the layer zips,
# the gateway distribution, then each fuzz target for a short, bounded time.
test: layer gateway $(RIE)
	backends/install.sh
	OTELCOL_LAMBDA_BIN=$(CURDIR)/$(BIN) OTELCOL_LAMBDA_LAUNCHER=$(CURDIR)/$(LAUNCHER) OTELCOL_LAMBDA_GATEWAY_BIN=$(CURDIR)/$(GATEWAY) OTELCOL_LAMBDA_OCB=$(OCB) LAMBDA_RIE=$(RIE) LAYER_DIST=$(CURDIR)/$(DIST) OTELCOL_LAMBDA_BACKENDS=1 go test -count=1 ./...
	cd examples/sentiment-function && go vet ./... && go test -count=1 ./...
	$(MAKE) fuzz

# fuzz runs each fuzz target of the main module for a short, bounded time;
# an input that fails is written under the package's testdata/fuzz.
fuzz:
	@set -e; for f in $$(git ls-files -co --exclude-standard -- '*_test.go' | grep -v -e '^examples/' -e '^backends/' | xargs grep -l '^func Fuzz' || true); do \
		for t in $$(grep -o '^func Fuzz[A-Za-z0-9_]*' $$f | cut -d' ' -f2); do \
			echo "fuzz $$t ($$(dirname $$f), $(FUZZTIME))"; \
			go test ./$$(dirname $$f) -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME); \
		done; \
	done

bench:
	go test -run '^$$' -bench . -benchmem ./processor/jsonlogparseprocessor ./connector/logstometricsconnector

# demo runs the extension under the local Lambda harness with the embedded
# demo config and prints what it exports.
demo: build
	go run ./cmd/lambda-harness --extension $(CURDIR)/$(BIN)

# demo-backends installs and starts Jaeger, VictoriaLogs and VictoriaMetrics on
# loopback, runs the example function with the extension, and prints the
# slowest invocation's trace, logs and metrics as the backends stored them.
# SAMPLING=1 runs it with and without the sampling preset and prints what
# sampling kept whole and the volume it saved.
demo-backends: build
	backends/install.sh
	go run ./cmd/demo-backends --extension $(CURDIR)/$(BIN) $(if $(SAMPLING),--sampling)

clean:
	rm -rf $(BUILD) $(GATEWAY_BUILD) $(DIST)
