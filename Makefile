# Backstop: build, test and benchmark.
#   make check   the quick one: gofmt, go vet, golangci-lint (pinned; installed
#                on first use into a cache outside the clone), and the unit
#                tests with -race -short (fuzz seed corpora included); no root,
#                no network once modules and the lint tool are fetched
#   make test    make check, then the integration suites (the long crash
#                tests, the browser tests of the web UI, which install
#                Debian's chromium and playwright-core from npm if missing,
#                smbclient, smbtorture, libiscsi, qemu); what CI runs
#   make bench   Go micro-benchmarks, then the end-to-end benchmark on real
#                data against restic and borg (downloads a Go module's
#                releases through the module proxy and npm packages of
#                compiled tools from the npm registry, installs restic/borg)

GO        ?= go
BENCH_DIR ?= /tmp/backstop-bench
VERSION   ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)

.PHONY: all build check fmt lint test-unit test test-hostile test-hk test-vtldev vet fuzz bench bench-go bench-e2e bench-synthetic bench-catalyst test-catalyst test-smb smb-conformance bench-smb test-sharefs bench-sharefs torture-sharefs test-iscsi test-vtl-qemu test-smb-qemu smb-qemu-conformance test-nfs-qemu nfs-qemu-conformance bench-nfs test-vtl-btape vtl-conformance bench-vtl bench-repl test-repl test-s3 clean

all: build

build:
	$(GO) build -trimpath -ldflags "-X main.version=$(VERSION)" -o backstop ./cmd/backstop

# golangci-lint at a pinned version (.golangci.yml is its config), kept in
# the user's cache, never in the clone: go install'ed there on first use,
# or linked to $(go env GOPATH)/bin/golangci-lint when that is the same
# version; after that make check needs no network.
GOLANGCI_LINT_VERSION ?= 2.15.0
LINT_CACHE ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/backstop/golangci-lint-v$(GOLANGCI_LINT_VERSION)
GOLANGCI_LINT ?= $(LINT_CACHE)/golangci-lint

# Flags of the unit tests in make check (-count=1: CI and make test never
# take a cached result; make check TESTFLAGS= lets go test cache them).
TESTFLAGS ?= -count=1

check: fmt vet lint test-unit

fmt:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go'); exit 1; }

vet: fmt
	$(GO) vet ./...

lint: $(GOLANGCI_LINT)
	$(GOLANGCI_LINT) run ./...

$(GOLANGCI_LINT):
	@mkdir -p $(LINT_CACHE)
	@gp="$$($(GO) env GOPATH)/bin/golangci-lint"; \
	if [ -x "$$gp" ] && "$$gp" version 2>/dev/null | grep -q "has version $(GOLANGCI_LINT_VERSION) "; then \
		ln -sf "$$gp" $@; \
	else \
		echo "installing golangci-lint v$(GOLANGCI_LINT_VERSION) into $(LINT_CACHE)"; \
		GOBIN=$(LINT_CACHE) $(GO) install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@v$(GOLANGCI_LINT_VERSION); \
	fi

# The unit tests: what needs root, Debian packages, qemu or more than a few
# seconds skips under -short and runs in make test below.
test-unit:
	$(GO) test -race -short -timeout 5m $(TESTFLAGS) ./...

test: check
	$(GO) test -count=1 -run 'TestCrash$$|TestHousekeepingCrash$$|TestLargeStream|FullDisk' ./chunkstore/
	$(GO) test -count=1 -run 'FullDisk' ./cmd/backstop/
	$(MAKE) --no-print-directory test-vtldev
	$(MAKE) --no-print-directory fuzz FUZZTIME=10000x
	$(MAKE) --no-print-directory test-sharefs
	$(MAKE) --no-print-directory test-cloud
	web/ui/e2e/run.sh
	$(MAKE) --no-print-directory test-smb
	$(MAKE) --no-print-directory test-iscsi test-vtl-qemu
	$(MAKE) --no-print-directory test-smb-qemu
	$(MAKE) --no-print-directory test-nfs-qemu
	$(MAKE) --no-print-directory test-repl
	$(MAKE) --no-print-directory test-hostile
	$(MAKE) --no-print-directory test-alerts
	$(MAKE) --no-print-directory test-s3

# The hostile-load tests (issue 13): a real backstop serve under floods
# before authentication, its VmRSS read from /proc against the bounds the
# docs promise (docs/smb.md, docs/replication.md, docs/catalyst.md; iSCSI's runs in
# test-iscsi). The side-door, probe, steal and throttling tests run in
# make check.
test-hostile:
	$(GO) test -count=1 -run 'TestHostile' ./nas/smb2/ ./replication/ ./catalyst/

# Cloud containers against a real SeaweedFS cluster on loopback
# (docs/cloud.md): weed is built once into ~/.cache/backstop (4+ minutes),
# then the tests run without -short, so they cannot skip.
.PHONY: test-cloud
test-cloud:
	scripts/seaweedfs.sh build >/dev/null
	$(GO) test -race -count=1 -timeout 20m ./chunkstore/objstore/...
	$(GO) test -race -count=1 -timeout 20m -run 'Cloud' ./cmd/backstop/ ./internal/appliance/

# The alert channels against real receivers (docs/alerts.md): aiosmtpd
# (Debian python3-aiosmtpd) and rsyslogd, installed if missing.
test-alerts:
	@{ /usr/bin/python3 -c 'import aiosmtpd' 2>/dev/null && { command -v rsyslogd || test -x /usr/sbin/rsyslogd; } >/dev/null; } || \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-aiosmtpd rsyslog >/dev/null; }
	$(GO) test -race -count=1 ./internal/alert/

# Housekeeping and verify in the appliance (REST API, job runner, automatic
# runs, settings); make test runs the same tests within ./... and the e2e.
test-hk:
	$(GO) test -race -count=1 -run 'Housekeeping|Verify|Settings|Items|Metrics|OpenAPI' ./web/ ./internal/appliance/

# Every on-disk format parser under the fuzzer for FUZZTIME each (seed
# corpora in the packages' testdata/fuzz/). make fuzz FUZZTIME=10m to dig.
# make test gives each target a count of inputs (10000x), not a duration:
# a duration's deadline can end a worker mid-input, which go test reports
# as a failure ("context deadline exceeded") though nothing crashed.
FUZZTIME ?= 30s
FUZZ_TARGETS = FuzzParse:./chunkstore/container/ FuzzDecodeSegment:./chunkstore/index/ \
	FuzzDecodeValues:./chunkstore/index/ FuzzGear:./chunkstore/chunker/ \
	FuzzHandleFrame:./nas/smb2/ FuzzNegToken:./nas/smb2/ \
	FuzzExecute:./vtl/scsi/ FuzzDrive:./vtl/tape/ FuzzRecordMap:./vtl/cartridge/ \
	FuzzReadPDU:./vtl/iscsi/wire/ FuzzParseText:./vtl/iscsi/wire/ \
	FuzzFrames:./replication/ FuzzChunkList:./replication/ FuzzPutRequest:./catalyst/ \
	FuzzMetaRecords:./nas/sharefs/
fuzz:
	@for t in $(FUZZ_TARGETS); do \
		echo "fuzz $${t%%:*} for $(FUZZTIME)"; \
		$(GO) test -run '^$$' -fuzz "^$${t%%:*}$$" -fuzztime $(FUZZTIME) $${t#*:} || exit 1; \
	done

# The VTL devices' long tests: a writer killed mid-stream (SIGKILL) leaves
# its cartridge readable up to the last acknowledged record.
test-vtldev:
	$(GO) test -count=1 -run 'TestKilledMidWrite|TestSecondBackupDedups|TestAgainstModel' ./vtl/tape/ ./vtl/cartridge/

bench: bench-go bench-e2e bench-synthetic bench-catalyst bench-sharefs bench-smb bench-nfs bench-vtl bench-repl
	@echo "results in $(RESULTS_DIR)/"

RESULTS_DIR ?= bench-results

# Micro-benchmarks: chunkers (MiB/s per algorithm), engine ingest and
# restore, memory per stored chunk. Medians: run benchstat on the files.
bench-go:
	mkdir -p $(RESULTS_DIR)
	$(GO) test -run '^$$' -bench . -count 5 ./chunkstore/chunker/ | tee $(RESULTS_DIR)/chunker.txt
	$(GO) test -run '^$$' -bench 'Ingest$$|Restore' -benchtime 3x -count 3 ./chunkstore/ | tee $(RESULTS_DIR)/engine.txt
	$(GO) test -run '^$$' -bench 'Housekeeping$$|Verify|IngestDuringHousekeeping' -benchtime 3x -count 3 ./chunkstore/ | tee $(RESULTS_DIR)/housekeeping.txt
	$(GO) test -run '^$$' -bench 'IndexMemory|HousekeepingMemory|HousekeepingThreshold' -benchtime 1x ./chunkstore/ | tee $(RESULTS_DIR)/memory.txt

# Real data against restic and borg (installs them, fetches the two data
# sets: a Go module's releases, npm packages of compiled tools), one table of
# stored bytes per set and tool. BACKSTOP_MODES lists Backstop's instances
# ("default" = no --compression flag), BORG_MODES borg's compressions.
BENCH_NPM_DIR  ?= /tmp/backstop-bench-npm
BACKSTOP_MODES ?= default s2
BORG_MODES     ?= lz4 zstd,3
bench-e2e: build
	mkdir -p $(RESULTS_DIR)
	scripts/realdata.sh $(BENCH_DIR)
	scripts/realdata-npm.sh $(BENCH_NPM_DIR)
	RESULTS=$(RESULTS_DIR)/realdata.md BACKSTOP=$(CURDIR)/backstop \
		BACKSTOP_MODES="$(BACKSTOP_MODES)" BORG_MODES="$(BORG_MODES)" \
		scripts/bench-e2e.sh $(BENCH_DIR) $(BENCH_NPM_DIR)

# End-to-end put/get throughput on synthetic data.
bench-synthetic: build
	mkdir -p $(RESULTS_DIR)
	RESULTS=$(CURDIR)/$(RESULTS_DIR)/synthetic.md BACKSTOP=$(CURDIR)/backstop scripts/bench-synthetic.sh

# Catalyst: put/get MiB/s in both modes over loopback TLS, wire bytes of a
# backup differing by 1%, and the CLI end to end against restic.
bench-catalyst: build
	mkdir -p $(RESULTS_DIR)
	RESULTS=$(CURDIR)/$(RESULTS_DIR)/catalyst.md BACKSTOP=$(CURDIR)/backstop scripts/bench-catalyst.sh

# The Catalyst tests alone (make test runs them within ./...).
test-catalyst:
	$(GO) test -race -count=1 ./catalyst/... ./chunkstore/ -run 'Import|Copy|Immutab|Catalyst|RoundTrip|Second|Lying|Permission|Cut|Concurrent'
	$(GO) test -count=1 -run 'TestCatalystCLI' ./cmd/backstop/
# The S3 front end with real clients: the Go tests (aws-sdk-go-v2), then
# the AWS CLI, rclone, s3cmd and restic against `backstop serve --s3`
# (docs/s3.md).
test-s3:
	@for t in aws rclone s3cmd restic; do command -v $$t >/dev/null || missing=1; done; \
	  [ -z "$$missing" ] || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq awscli rclone s3cmd restic >/dev/null; }
	$(GO) test -race -count=1 ./s3/... ./internal/appliance/ -run 'S3'
	scripts/test-s3.sh

# Replication between two `backstop serve` processes on loopback: both
# backups of a small data set replicate and read back byte-identical.
test-repl: build
	CHECK=1 SIZE=16M BACKSTOP=$(CURDIR)/backstop scripts/bench-repl.sh /tmp/backstop-test-repl

# Replication throughput and wire bytes per logical byte of two nearly
# equal backups, beside rsync of a restic repository (installs rsync).
bench-repl: build
	mkdir -p $(RESULTS_DIR)
	$(GO) test -run '^$$' -bench Replicate -benchtime 1x -count 3 ./replication/ | tee $(RESULTS_DIR)/replication-go.txt
	RESULTS=$(CURDIR)/$(RESULTS_DIR)/replication.md BACKSTOP=$(CURDIR)/backstop scripts/bench-repl.sh

# Scale harness: grows one data directory of 1 KiB-average chunks through
# the engine (10^4..10^6 chunks, 10^3..10^5 items; SCALE_FLAGS='-chunks
# 1e4,1e5,1e6,1e7 -items 1e3,1e4,1e5,1e6' for more) and writes how each
# cost grows to docs/scale.csv, docs/scale-table.md and docs/scale-*.png
# (docs/scale.md). About 15 minutes and 1.5 GiB of disk by default.
SCALE_DIR ?= /tmp/backstop-scale
.PHONY: bench-scale
bench-scale:
	$(GO) run ./tools/scalebench -dir $(SCALE_DIR) -out docs $(SCALE_FLAGS)

# The share filesystem's tests at full size (the -short run above uses
# smaller files and one seed of the model-based test), with Samba's
# smbclient (installed from Debian when missing) against the real share
# manager over the SMB server.
# As root it also runs TestSMBPutFullDisk (a small tmpfs it mounts under
# the data directory: a put that does not fit fails with DISK_FULL and
# leaves no file; docs/durability.md).
test-sharefs:
	@command -v smbclient >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq smbclient; }
	$(GO) test -count=1 ./nas/sharefs/

# The smbtorture groups of test-smb against the share filesystem over
# chunkstore (not in make test: test-smb runs them on the in-memory share).
torture-sharefs:
	GO=$(GO) scripts/torture-sharefs.sh

# Sequential write and read MiB/s through the share filesystem (256 MiB
# file, 1 MiB requests), and a 16-place rewrite of a 64 MiB file.
bench-sharefs:
	mkdir -p $(RESULTS_DIR)
	$(GO) test -run '^$$' -bench . -benchtime 3x -count 3 ./nas/sharefs/ | tee $(RESULTS_DIR)/sharefs.txt

# The SMB server against smbclient and smbtorture (installs them if
# missing); fails when a recorded smbtorture test stops passing.
test-smb:
	GO=$(GO) scripts/test-smb.sh

# The smbtorture groups against Backstop and against Samba's smbd in one run,
# printed as the table of docs/conformance.md (GROUPS="..." for others).
smb-conformance:
	GO=$(GO) scripts/smb-conformance.sh $(GROUPS)

# Write and read MiB/s of a 4 GiB file through smbclient, Backstop against
# smbd on the same machine (SIZE_MIB=... for another size); then clone,
# server-side copy and read-and-write copy of a 4 GiB file over SMB,
# medians of 3 runs and their ratios (scripts/bench-clone.sh).
bench-smb: build
	mkdir -p $(RESULTS_DIR)
	RESULTS=$(CURDIR)/$(RESULTS_DIR)/smb.md BACKSTOP=$(CURDIR)/backstop scripts/bench-smb.sh $(BENCH_DIR)-smb
	GO=$(GO) SIZE=4G COUNT=3 scripts/bench-clone.sh $(RESULTS_DIR)/smb-clone.txt

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

# The Linux kernel's SMB client (cifs.ko of Debian's kernel under qemu)
# against backstop serve --smb: mount, cp -a of a tree, tar back, dd
# conv=notrunc, rename, truncate, df, sync, remount and compare, with
# vers=3.1.1,seal, 3.0 and 2.1 (scripts/smb-qemu.sh; docs/smb.md). The
# steps (all: also >> append, create then stat, stat of a file held open,
# stat of every file); SMB_QEMU_STEPS=core for the copy steps alone.
SMB_QEMU_STEPS ?= all
SMB_QEMU_DIR ?= /tmp/backstop-smb-qemu
test-smb-qemu: build
	W=$(SMB_QEMU_DIR) STEPS=$(SMB_QEMU_STEPS) BACKSTOP=$(CURDIR)/backstop scripts/smb-qemu.sh backstop

# The same guest script against Samba's smbd and Backstop side by side
# (docs/conformance.md).
smb-qemu-conformance: build
	W=$(SMB_QEMU_DIR) BACKSTOP=$(CURDIR)/backstop scripts/smb-qemu.sh smbd backstop

# The Linux kernel's NFSv3 client (Debian's kernel under qemu) against
# backstop serve --nfs: mount with port/mountport (no rpcbind), cp -a of
# 2,000 files, tar back, dd conv=fsync, random writes, append, rename,
# truncate, df, remount and compare (scripts/nfs-qemu.sh; docs/nfs.md).
# nfs-qemu-conformance runs it against nfs-ganesha (VFS) too.
NFS_QEMU_DIR ?= /tmp/backstop-nfs-qemu
test-nfs-qemu: build
	W=$(NFS_QEMU_DIR) BACKSTOP=$(CURDIR)/backstop scripts/nfs-qemu.sh backstop

nfs-qemu-conformance: build
	W=$(NFS_QEMU_DIR) BACKSTOP=$(CURDIR)/backstop scripts/nfs-qemu.sh ganesha backstop

# Write (dd conv=fsync) and read MiB/s of a 4 GiB file of random data
# through the kernel NFSv3 client under qemu, nfs-ganesha then Backstop in
# one run (the guest's urandom rate is printed as the ceiling).
NFS_BENCH_MB ?= 4096
bench-nfs: build
	mkdir -p $(RESULTS_DIR)
	W=$(NFS_QEMU_DIR) MODE=bench BIG_MB=$(NFS_BENCH_MB) STEP_TIMEOUT=7200 QEMU_TIMEOUT=14400 \
		BACKSTOP=$(CURDIR)/backstop scripts/nfs-qemu.sh ganesha backstop | tee $(RESULTS_DIR)/nfs.txt

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
