# Plein: make run starts the server on embedded defaults; make test runs every test.
GO      ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)
# Every directory under plugins/ with a main package is a plugin binary.
PLUGINS := $(patsubst plugins/%/main.go,%,$(wildcard plugins/*/main.go))

export GOTOOLCHAIN ?= local

.PHONY: all build run test bench bench-quick bench-go load lint services clean proto

all: build

## build: bin/plein and each plugin as bin/plugins/<name>
build:
	$(GO) build -ldflags "$(LDFLAGS)" -o bin/plein ./core/cmd/plein
	@mkdir -p bin/plugins
	@for p in $(PLUGINS); do echo "build plugin $$p"; $(GO) build -ldflags "$(LDFLAGS)" -o bin/plugins/$$p ./plugins/$$p || exit 1; done

## run: build, approve the plugin binaries just built (a rebuild changes their checksums), seed the demo organisation (with every plugin on) into an empty database, serve on 127.0.0.1:8080
run: build
	@# quietly (its scan logs the old checksum as refused); again, aloud, if it fails
	@for p in $(PLUGINS); do ./bin/plein plugins approve $$p >/dev/null 2>&1 || ./bin/plein plugins approve $$p || exit 1; done
	./bin/plein seed demo --if-empty --enable-plugins
	./bin/plein serve

## test: start PostgreSQL, Redis and MinIO on loopback if needed, lint, run every test with -race
test:
	scripts/test.sh

## bench: load benchmark in production mode (PostgreSQL, Redis, MinIO, every plugin): the demo plus 2,000 users, 100k items, 1M likes; 50 clients; under 15 min
bench:
	scripts/bench.sh full

## bench-quick: the same load benchmark at small sizes, under 2 minutes
bench-quick:
	scripts/bench.sh quick

## bench-go: the Go benchmarks (authorization, feed and search at 100k items), with local services
bench-go:
	scripts/bench-go.sh

## load: mixed load against a running server (make run in another terminal): demo users read, search, post, like; LOADFLAGS="-c 8 -duration 1m"
load:
	$(GO) run ./core/cmd/plein-load $(LOADFLAGS)

## lint: gofmt, go vet, staticcheck
lint:
	@unformatted=$$(gofmt -l core plugins sdk 2>/dev/null); if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(GO) tool staticcheck ./...

## services: start the local test services and print their environment
services:
	@scripts/services.sh

## proto: regenerate the plugin protocol code in sdk/gen from sdk/proto (installs protoc if missing)
proto:
	scripts/proto.sh

clean:
	rm -rf bin
