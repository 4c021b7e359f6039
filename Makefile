# Backstop: build, test and benchmark.
#   make test    vet + the whole test suite (race detector on, then the long
#                crash tests); what CI runs
#   make bench   Go micro-benchmarks, then the end-to-end benchmark on real
#                data against restic and borg (downloads a Go module's
#                releases through the module proxy, installs restic/borg)

GO        ?= go
BENCH_DIR ?= /tmp/backstop-bench
VERSION   ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)

.PHONY: all build test vet bench bench-go bench-e2e fuzz clean

all: build

build:
	$(GO) build -trimpath -ldflags "-X main.version=$(VERSION)" -o backstop ./cmd/backstop

vet:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) vet ./...

test: vet
	$(GO) test -race -short -count=1 ./...
	$(GO) test -count=1 -run 'TestCrash$$|TestLargeStream' ./chunkstore/

bench: bench-go bench-e2e

bench-go:
	$(GO) test -run '^$$' -bench . -benchtime 2x -count 5 ./chunkstore/... | tee $(BENCH_DIR)-go.txt

bench-e2e: build
	scripts/realdata.sh $(BENCH_DIR)
	BACKSTOP=$(CURDIR)/backstop scripts/bench-e2e.sh $(BENCH_DIR)

clean:
	rm -f backstop
