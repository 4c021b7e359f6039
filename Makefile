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

.PHONY: all build test test-vtldev vet fuzz bench bench-go bench-e2e bench-synthetic clean

all: build

build:
	$(GO) build -trimpath -ldflags "-X main.version=$(VERSION)" -o backstop ./cmd/backstop

vet:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) vet ./...

test: vet
	$(GO) test -race -short -count=1 ./...
	$(GO) test -count=1 -run 'TestCrash$$|TestLargeStream' ./chunkstore/
	$(MAKE) --no-print-directory test-vtldev
	$(MAKE) --no-print-directory fuzz FUZZTIME=5s
	web/ui/e2e/run.sh

# Every on-disk format parser under the fuzzer for FUZZTIME each (seed
# corpora in the packages' testdata/fuzz/). make fuzz FUZZTIME=10m to dig.
FUZZTIME ?= 30s
FUZZ_TARGETS = FuzzParse:./chunkstore/container/ FuzzDecodeSegment:./chunkstore/index/ \
	FuzzDecodeValues:./chunkstore/index/ FuzzGear:./chunkstore/chunker/ \
	FuzzExecute:./vtl/scsi/ FuzzDrive:./vtl/tape/ FuzzRecordMap:./vtl/cartridge/
fuzz:
	@for t in $(FUZZ_TARGETS); do \
		echo "fuzz $${t%%:*} for $(FUZZTIME)"; \
		$(GO) test -run '^$$' -fuzz "^$${t%%:*}$$" -fuzztime $(FUZZTIME) $${t#*:} || exit 1; \
	done

# The VTL devices' long tests: a writer killed mid-stream (SIGKILL) leaves
# its cartridge readable up to the last acknowledged record; cartridges
# against a model tape with random operations.
test-vtldev:
	$(GO) test -count=1 -run 'TestKilledMidWrite|TestSecondBackupDedups|TestAgainstModel' ./vtl/tape/ ./vtl/cartridge/

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
