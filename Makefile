# pave — see README.md. `make demo` runs pave's main job, `make test` every test.
SHELL := /usr/bin/env bash
# Go 1.27.3: earlier releases have published vulnerabilities that pave's code
# reaches (net/http, crypto/tls, crypto/x509, net/textproto; see `make vuln`).
# The go command takes this toolchain from the Go module proxy on first use,
# so a machine with an older Go needs nothing else. `make GOTOOLCHAIN=... X`
# overrides it.
export GOTOOLCHAIN := go1.27.3
GO ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
LDFLAGS := -X main.version=$(VERSION) -X main.commit=$(COMMIT)
TEST_FLAGS ?= -count=1 -timeout 30m
FUZZ_TIME ?= 30s
FUZZ ?= ^Fuzz
export FUZZ_TIME FUZZ

.PHONY: all build chromium test test-race lint vuln bench bench-peers fuzz demo tools cluster-up cluster-down clean

all: build

## build: compile pave to bin/pave
build:
	$(GO) build -trimpath -ldflags "$(LDFLAGS)" -o bin/pave ./cmd/pave

## tools: build the local control plane (etcd, kube-apiserver, ...) into .cache/bin
tools:
	bash e2e/tools/build.sh

## chromium: install Debian's chromium for the dashboard's browser tests
## (when missing); see hack/chromium.sh
chromium:
	bash hack/chromium.sh

## test: every test, once: those without a control plane under the race
## detector (test-race, the dashboard's browser tests among them), then
## those against the local control plane
test: build tools chromium test-race
	$(GO) test $(TEST_FLAGS) $$(bash hack/packages.sh cluster)
	cd hack/tools && $(GO) test $(TEST_FLAGS) ./...

## test-race: the tests that need no control plane, with -race (the packages
## are listed by hack/packages.sh race)
test-race:
	$(GO) test -race $(TEST_FLAGS) $$(bash hack/packages.sh race)

## lint: gofmt check (with the toolchain's gofmt) and go vet, of pave and of
## the tool modules (hack/tools, e2e/tools)
lint:
	@gofmt="$$($(GO) env GOROOT)/bin/gofmt" && \
	unformatted=$$("$$gofmt" -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './.cache/*')) && \
	if [ -n "$$unformatted" ]; then echo "gofmt would change:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
	cd hack/tools && $(GO) vet ./...
	cd e2e/tools && $(GO) vet ./...

## vuln: govulncheck against the Go vulnerability database module (fails on
## a vulnerability pave's code reaches); see hack/vuln.sh
vuln:
	bash hack/vuln.sh

## bench: benchmarks, with the figures they measure (the cluster ones and
## the 10,000-service ones run once: pave check of 10,000 services × 2
## environments, and the review of a template change over 10,000, each
## with its peak RSS and a render floor measured in the same run; pave serve
## as three shards at 1000 and 10,000 services, BenchmarkShardedDaemon)
bench:
	$(GO) test -run '^$$' -bench . -skip 10000 -benchmem ./catalog ./render ./pipeline
	$(GO) test -run '^$$' -bench . -skip 10000 -benchtime 1x -benchmem ./review
	$(GO) test -run '^$$' -bench 10000 -benchtime 1x -timeout 60m ./pipeline ./review
	$(GO) test -run '^$$' -bench . -skip ShardedDaemon -benchtime 1x -timeout 150m ./reconciler/apply ./e2e/daemon
	$(GO) test -run '^$$' -bench ShardedDaemon -benchtime 1x -timeout 300m ./e2e/daemon

## bench-peers: pave side by side with the tools used instead of it (helm
## template + conftest test + kubectl apply, and Flux's source-controller and
## kustomize-controller) on the same catalog in the same run; prints a table
## (not part of make test; see docs/development.md). PEERS_FLAGS passes
## flags, e.g. PEERS_FLAGS='-services 1000 -flux-services 200'
PEERS_FLAGS ?=
bench-peers:
	bash e2e/tools/build.sh peers
	$(GO) run ./e2e/peers $(PEERS_FLAGS)

## fuzz: every fuzz target (matching $(FUZZ)) for $(FUZZ_TIME) each; see hack/fuzz.sh
fuzz:
	bash hack/fuzz.sh

## demo: pave's main job on the example catalog
demo: build tools
	bash hack/demo.sh

## cluster-up / cluster-down: local staging and prod clusters
cluster-up: tools
	$(GO) run ./e2e/cmd/cluster up

cluster-down:
	$(GO) run ./e2e/cmd/cluster down

clean:
	rm -rf bin
