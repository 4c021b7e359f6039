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

.PHONY: all build test test-vtldev vet fuzz bench bench-go bench-e2e bench-synthetic clean test-iscsi test-vtl-qemu test-vtl-btape vtl-conformance bench-vtl

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
	$(MAKE) --no-print-directory test-iscsi test-vtl-qemu

# Every on-disk format parser under the fuzzer for FUZZTIME each (seed
# corpora in the packages' testdata/fuzz/). make fuzz FUZZTIME=10m to dig.
FUZZTIME ?= 30s
FUZZ_TARGETS = FuzzParse:./chunkstore/container/ FuzzDecodeSegment:./chunkstore/index/ \
	FuzzDecodeValues:./chunkstore/index/ FuzzGear:./chunkstore/chunker/ \
	FuzzExecute:./vtl/scsi/ FuzzDrive:./vtl/tape/ \
	FuzzReadPDU:./vtl/iscsi/wire/ FuzzParseText:./vtl/iscsi/wire/
fuzz:
	@for t in $(FUZZ_TARGETS); do \
		echo "fuzz $${t%%:*} for $(FUZZTIME)"; \
		$(GO) test -run '^$$' -fuzz "^$${t%%:*}$$" -fuzztime $(FUZZTIME) $${t#*:} || exit 1; \
	done

# The VTL devices' long tests: a writer killed mid-stream (SIGKILL) leaves
# its cartridge readable up to the last acknowledged record.
test-vtldev:
	$(GO) test -count=1 -run 'TestKilledMidWrite|TestSecondBackupDedups' ./vtl/tape/ ./vtl/cartridge/

bench: bench-go bench-e2e bench-synthetic bench-vtl
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

# The iSCSI target: its tests with libiscsi's tools for real (Debian
# libiscsi-bin), then the Linux initiator under qemu with mt, mtx and tar
# (scripts/vtl-qemu.sh installs qemu, tgt, open-iscsi, mt-st, mtx).
test-iscsi:
	@command -v iscsi-ls >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libiscsi-bin >/dev/null; }
	$(GO) test -race -count=1 ./vtl/iscsi/...

VTL_QEMU_DIR ?= /tmp/backstop-vtl-qemu
VTL_QEMU_MB  ?= 200
# make test keeps its qemu part near 3 minutes on 2 shared cores: 96 MiB
# (make test-vtl-qemu VTL_QEMU_TEST_MB=200 for the full size).
VTL_QEMU_TEST_MB ?= 96
test-vtl-qemu: build
	W=$(VTL_QEMU_DIR) DATA_MB=$(VTL_QEMU_TEST_MB) BACKSTOP=$(CURDIR)/backstop scripts/vtl-qemu.sh backstop

# Bacula's btape "test" and "fill" against a Backstop drive in the guest.
test-vtl-btape: build
	W=$(VTL_QEMU_DIR) BACKSTOP=$(CURDIR)/backstop MODE=btape MATCH=btape scripts/vtl-qemu.sh backstop

# The guest script against tgt's reference VTL and Backstop side by side
# (docs/conformance.md): make vtl-conformance
vtl-conformance: build
	W=$(VTL_QEMU_DIR) DATA_MB=$(VTL_QEMU_MB) BACKSTOP=$(CURDIR)/backstop scripts/vtl-qemu.sh tgt backstop

# Write/read MiB/s to a virtual drive: the Go initiator and dd in the qemu
# guest, against Backstop and tgt in the same run.
bench-vtl: build
	mkdir -p $(RESULTS_DIR)
	$(GO) test -run '^$$' -bench Transport -count 3 ./vtl/iscsi/ | tee $(RESULTS_DIR)/iscsi-transport.txt
	W=$(VTL_QEMU_DIR) BACKSTOP=$(CURDIR)/backstop RESULTS=$(CURDIR)/$(RESULTS_DIR)/vtl.md scripts/bench-vtl.sh

clean:
	rm -f backstop
