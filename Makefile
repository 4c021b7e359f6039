# Backstop: build, test and benchmark.
#   make test    vet + the whole test suite (race detector on, then the long
#                crash tests, then the browser tests of the web UI, which
#                install Debian's chromium and playwright-core from npm if
#                missing); what CI runs
#   make bench   Go micro-benchmarks, then the end-to-end benchmark on real
#                data against restic and borg (downloads a Go module's
#                releases through the module proxy, installs restic/borg)

GO        ?= go
BENCH_DIR ?= /tmp/backstop-bench
VERSION   ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)

.PHONY: all build test vet bench bench-go bench-e2e bench-synthetic clean

all: build

build:
	$(GO) build -trimpath -ldflags "-X main.version=$(VERSION)" -o backstop ./cmd/backstop

vet:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) vet ./...

test: vet
	$(GO) test -race -short -count=1 ./...
	$(GO) test -count=1 -run 'TestCrash$$|TestLargeStream' ./chunkstore/
	web/ui/e2e/run.sh

bench: bench-go bench-e2e bench-synthetic
	@echo "results in $(RESULTS_DIR)/"

RESULTS_DIR ?= bench-results

# Micro-benchmarks: chunkers (MiB/s per algorithm), engine ingest and
# restore, memory per stored chunk. Medians: run benchstat on the files.
bench-go:
	mkdir -p $(RESULTS_DIR)
	$(GO) test -run '^$$' -bench . -count 5 ./chunkstore/chunker/ | tee $(RESULTS_DIR)/chunker.txt
	$(GO) test -run '^$$' -bench 'Ingest|Restore' -benchtime 3x -count 3 ./chunkstore/ | tee $(RESULTS_DIR)/engine.txt
	$(GO) test -run '^$$' -bench IndexMemory -benchtime 1x ./chunkstore/ | tee $(RESULTS_DIR)/memory.txt

# Real data against restic and borg (installs them, fetches the data set).
bench-e2e: build
	mkdir -p $(RESULTS_DIR)
	scripts/realdata.sh $(BENCH_DIR)
	RESULTS=$(RESULTS_DIR)/realdata.md BACKSTOP=$(CURDIR)/backstop scripts/bench-e2e.sh $(BENCH_DIR)

# End-to-end put/get throughput on synthetic data.
bench-synthetic: build
	mkdir -p $(RESULTS_DIR)
	RESULTS=$(CURDIR)/$(RESULTS_DIR)/synthetic.md BACKSTOP=$(CURDIR)/backstop scripts/bench-synthetic.sh

clean:
	rm -f backstop
