#!/usr/bin/env bash
# bench-e2e.sh [DATA_DIR...] — end-to-end "real data" benchmark.
#
# For each data set (a directory of successive tars NN-*.tar, oldest first,
# made by scripts/realdata.sh or scripts/realdata-npm.sh), backs up the tars
# in order, one backup per tar, with each tool instance (Backstop in each of
# its compression modes, restic, borg in each of its compressions), restores
# the newest with each and checks it byte for byte, then deletes all but the
# newest KEEP generations, reclaims space and verifies. Prints a markdown
# report per set and one density table over all sets (also written to
# $RESULTS if set).
#
#   DATA_DIR...  built data sets. Default: /tmp/backstop-bench (the Go
#                module, scripts/realdata.sh) and /tmp/backstop-bench-npm
#                (compiled binaries, scripts/realdata-npm.sh), built first
#                if missing (both builders are idempotent).
# Environment:
#   BACKSTOP=BIN                  backstop binary (default: go build ./cmd/backstop)
#   TOOLS="backstop restic borg"  which tools to run, in this order
#   BACKSTOP_MODES="default s2"   Backstop instances: "default" runs put without
#                                 --compression, anything else is passed as
#                                 --compression MODE (e.g. "default s2 zstd")
#   BORG_MODES="lz4 zstd,3"       borg instances: borg create --compression MODE
#                                 (lz4 is borg's default)
#   RESULTS=FILE                  also write the report here
#   KEEP_WORK=1                   keep the temporary work directory
#   GENS=N                        use only the first N tars of each set (quick checks)
#   KEEP=N                        generations kept for the housekeeping step (5)
#   BACKSTOP_COLD_LEVEL=L         also measure Backstop after recompressing every
#                                 container as cold data at zstd level L
#                                 (default, better, best); unset: skipped
#
# Every timed step runs under GNU time and is followed by `sync` inside the
# timed region, so a tool that leaves its writes in the page cache is not
# favoured. The tars are read from the page cache by all tools (warmed first).
# Repository sizes are allocated bytes (du -sB1), index and metadata included.
set -euo pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BACKSTOP=${BACKSTOP:-}
read -r -a TOOLS <<<"${TOOLS:-backstop restic borg}"
read -r -a BACKSTOP_MODES <<<"${BACKSTOP_MODES:-default s2}"
read -r -a BORG_MODES <<<"${BORG_MODES:-lz4 zstd,3}"
RESULTS=${RESULTS:-}
# Make paths absolute: the benchmark runs inside its temporary work dir.
[[ -z $RESULTS || $RESULTS == /* ]] || RESULTS=$PWD/$RESULTS
if [[ -n $BACKSTOP && $BACKSTOP != /* ]]; then
	if [[ $BACKSTOP == */* ]]; then
		BACKSTOP=$PWD/$BACKSTOP
	else
		name=$BACKSTOP
		BACKSTOP=$(command -v "$name") || { echo "bench: not found: $name" >&2; exit 1; }
	fi
fi

has_tool() { [[ " ${TOOLS[*]} " == *" $1 "* ]]; }
die() { echo "bench: $*" >&2; exit 1; }

# Tool instances, in report order: backstop:MODE..., restic, borg:MODE...
INSTANCES=()
for t in "${TOOLS[@]}"; do
	case $t in
	backstop) for m in "${BACKSTOP_MODES[@]}"; do INSTANCES+=("backstop:$m"); done ;;
	restic) INSTANCES+=(restic) ;;
	borg) for m in "${BORG_MODES[@]}"; do INSTANCES+=("borg:$m"); done ;;
	*) die "unknown tool: $t" ;;
	esac
done

# --- prerequisites ---------------------------------------------------------
# command -> Debian package; install only what is missing.
command -v go >/dev/null || die "go is needed (the data set comes through the module proxy)"
declare -A PKG=([jq]=jq [/usr/bin/time]=time [cmp]=diffutils)
has_tool restic && PKG[restic]=restic
has_tool borg && PKG[borg]=borgbackup
missing=()
for c in "${!PKG[@]}"; do
	command -v "$c" >/dev/null || missing+=("${PKG[$c]}")
done
if ((${#missing[@]})); then
	[[ $(id -u) == 0 ]] || die "missing packages (need root to install): ${missing[*]}"
	echo "bench: installing ${missing[*]}" >&2
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
fi

# --- data sets -------------------------------------------------------------
if (($# == 0)); then
	"$REPO_ROOT/scripts/realdata.sh" /tmp/backstop-bench >&2
	"$REPO_ROOT/scripts/realdata-npm.sh" /tmp/backstop-bench-npm >&2
	set -- /tmp/backstop-bench /tmp/backstop-bench-npm
fi
SETS=()
for d in "$@"; do
	[[ -f $d/COMPLETE ]] || die "$d: not a built data set (run scripts/realdata.sh or scripts/realdata-npm.sh)"
	SETS+=("$(cd "$d" && pwd)")
done

# --- work dir --------------------------------------------------------------
W=$(mktemp -d "${TMPDIR:-/tmp}/bench-e2e.XXXXXX")
cleanup() {
	if [[ ${KEEP_WORK:-} == 1 ]]; then echo "bench: kept $W" >&2; else rm -rf "$W"; fi
}
trap cleanup EXIT
mkdir -p "$W/logs" "$W/input"
IN=$W/input/data.tar # every backup reads the same path, like a backup product
cd "$W"

if has_tool backstop && [[ -z $BACKSTOP ]]; then
	echo "bench: building backstop" >&2
	(cd "$REPO_ROOT" && go build -trimpath -o "$W/backstop" \
		-ldflags "-X main.version=$(git describe --always --dirty 2>/dev/null || echo dev)" \
		./cmd/backstop)
	BACKSTOP=$W/backstop
fi
if has_tool backstop; then [[ -x $BACKSTOP ]] || die "not executable: $BACKSTOP"; fi

# stage TAR: make TAR appear at $IN (hard link; copy if on another fs).
stage() { ln -f "$1" "$IN" 2>/dev/null || cp "$1" "$IN"; }

# timed NAME [-C DIR] CMD...: run CMD (then sync) under GNU time, output in
# logs/NAME.log; sets T_SEC (wall seconds) and T_RSS (max RSS, KiB). A failure
# prints the log tail and stops the benchmark.
timed() {
	local name=$1 dir=$W
	shift
	if [[ $1 == -C ]]; then dir=$2; shift 2; fi
	if ! (cd "$dir" && /usr/bin/time -f '%e %M' -o "$W/logs/$name.time" \
		bash -c '"$@" && sync' timed "$@") >"$W/logs/$name.log" 2>&1; then
		echo "bench: FAILED ($name): $*" >&2
		tail -n 40 "$W/logs/$name.log" >&2
		exit 1
	fi
	read -r T_SEC T_RSS <"$W/logs/$name.time"
}

calc() { awk "BEGIN { printf \"$1\", $2 }"; } # calc FORMAT EXPR
mib() { calc %.1f "$1 / 1048576"; }
# Bytes the file system holds (volumes are sparse after housekeeping).
du_b() { du -s -B1 "$1" | cut -f1; }
# slug INSTANCE -> a file name part (backstop:s2 -> backstop-s2).
slug() { echo "$1" | tr ':,' '--'; }

# gen_name I -> gen-01 ... (generation numbering starts at 1)
gen_name() { printf 'gen-%02d' "$(($1 + 1))"; }

# Per set (reset by load_set), keyed by instance: ingest seconds / max RSS,
# repo bytes, restore seconds... VER is the instance's label.
declare -A GEN_T GEN_REPO ING_T ING_RSS REPO OWN_RATIO RES_T RES_RSS VER
declare -A PRUNE_BEFORE PRUNE_AFTER PRUNE_T PRUNE_RSS CHECK_T CHECK_RSS
# Backstop after housekeeping's recompression (idle) and as cold data.
declare -A IDLE IDLE_T COLD COLD_T
# Over all sets, keyed by "SET_INDEX,INSTANCE": for the density table.
declare -A ALL_REPO ALL_RATE ALL_LOGICAL ALL_NAME ALL_IDLE ALL_COLD
KEEP=${KEEP:-5}

# load_set DIR: point TARS, N, NEWEST, SETNAME, LOGICAL at one data set.
load_set() {
	TARS=("$1"/tars/[0-9][0-9]-*.tar) # glob order = generation order
	[[ -f ${TARS[0]} ]] || die "no tars in $1/tars"
	[[ -n ${GENS:-} ]] && TARS=("${TARS[@]:0:GENS}") # quick runs: first GENS only
	N=${#TARS[@]}
	NEWEST=${TARS[N - 1]}
	SETNAME=$(cut -d' ' -f1 "$1/COMPLETE")
	LOGICAL=0
	local t
	for t in "${TARS[@]}"; do LOGICAL=$((LOGICAL + $(stat -c %s "$t"))); done
	NEWEST_B=$(stat -c %s "$NEWEST")
	cat "${TARS[@]}" >/dev/null # warm the page cache equally for every tool
	GEN_T=() GEN_REPO=() ING_T=() ING_RSS=() REPO=() OWN_RATIO=() RES_T=() RES_RSS=()
	PRUNE_BEFORE=() PRUNE_AFTER=() PRUNE_T=() PRUNE_RSS=() CHECK_T=() CHECK_RSS=()
	IDLE=() IDLE_T=() COLD=() COLD_T=()
}

# --- Backstop --------------------------------------------------------------
# run_backstop INSTANCE MODE
run_backstop() {
	local inst=$1 mode=$2 D out=$W/restore-backstop.tar i stats s
	s=$(slug "$inst")
	D=$W/$s-data
	local comp=()
	[[ $mode == default ]] || comp=(--compression "$mode")
	VER[$inst]="$("$BACKSTOP" version) ($mode)" # "backstop <git describe> (mode)"
	for i in "${!TARS[@]}"; do
		stage "${TARS[$i]}"
		timed "$s-put-$i" "$BACKSTOP" put --data "$D" "${comp[@]}" --store default "$(gen_name "$i")" "$IN"
		record "$inst" "$i" "$D"
	done
	stats=$("$BACKSTOP" stats --json --data "$D")
	echo "$stats" >"$W/logs/$s-stats.json"
	echo "bench: $inst stats: $stats" >&2
	OWN_RATIO[$inst]=$(calc %.2f "$(jq -er '.dedup_ratio' <<<"$stats")")
	# Backstop's own accounting must agree with what we fed it.
	[[ $(jq -er '.logical_bytes' <<<"$stats") == "$LOGICAL" ]] ||
		echo "bench: WARNING: backstop logical_bytes $(jq -r .logical_bytes <<<"$stats") != $LOGICAL" >&2
	jq -er '.stored_bytes' <<<"$stats" >/dev/null
	REPO[$inst]=$(du_b "$D")
	# What the appliance stores once idle: housekeeping's background
	# recompression of s2 containers (binaries that have it), then, if
	# BACKSTOP_COLD_LEVEL is set, every container as cold data at that
	# level. The restore below reads the recompressed containers.
	local hk_help
	hk_help=$("$BACKSTOP" housekeeping --help 2>&1 || true)
	if [[ $hk_help == *-recompress* ]]; then
		timed "$s-recompress" "$BACKSTOP" housekeeping --data "$D" --recompress
		IDLE[$inst]=$(du_b "$D") IDLE_T[$inst]=$T_SEC
		if [[ -n ${BACKSTOP_COLD_LEVEL:-} ]]; then
			timed "$s-cold" "$BACKSTOP" housekeeping --data "$D" --recompress --cold-now --cold-level "$BACKSTOP_COLD_LEVEL"
			COLD[$inst]=$(du_b "$D") COLD_T[$inst]=$T_SEC
		fi
	fi
	timed "$s-get" "$BACKSTOP" get --data "$D" --store default "$(gen_name $((N - 1)))" "$out"
	RES_T[$inst]=$T_SEC RES_RSS[$inst]=$T_RSS
	cmp "$NEWEST" "$out" || die "backstop restore differs from $NEWEST"
	rm -f "$out"
	# Housekeeping: delete all but the newest KEEP generations, reclaim, verify.
	local names=()
	for ((i = 0; i < N - KEEP; i++)); do names+=("$(gen_name "$i")"); done
	((${#names[@]})) && "$BACKSTOP" rm --data "$D" --store default "${names[@]}" >"$W/logs/$s-rm.log"
	PRUNE_BEFORE[$inst]=$(du_b "$D")
	timed "$s-gc" "$BACKSTOP" housekeeping --data "$D"
	PRUNE_T[$inst]=$T_SEC PRUNE_RSS[$inst]=$T_RSS PRUNE_AFTER[$inst]=$(du_b "$D")
	timed "$s-verify" "$BACKSTOP" verify --data "$D"
	CHECK_T[$inst]=$T_SEC CHECK_RSS[$inst]=$T_RSS
	cat "$W/logs/$s-gc.log" >&2
	rm -rf "$D"
}

# --- restic ----------------------------------------------------------------
run_restic() {
	local inst=restic
	export RESTIC_REPOSITORY=$W/restic RESTIC_PASSWORD=bench RESTIC_CACHE_DIR=$W/restic-cache
	local i
	VER[$inst]="$(restic version | cut -d' ' -f1-2) (auto)"
	# Repository format 2 (compression), default compression "auto".
	restic init --repository-version 2 >"$W/logs/restic-init.log" 2>&1 ||
		{ cat "$W/logs/restic-init.log" >&2; die "restic init failed"; }
	for i in "${!TARS[@]}"; do
		stage "${TARS[$i]}"
		timed "restic-backup-$i" restic backup --host bench "$IN"
		record "$inst" "$i" "$RESTIC_REPOSITORY"
	done
	REPO[$inst]=$(du_b "$RESTIC_REPOSITORY")
	timed restic-restore restic restore latest --host bench --path "$IN" --target "$W/restore-restic"
	RES_T[$inst]=$T_SEC RES_RSS[$inst]=$T_RSS
	cmp "$NEWEST" "$W/restore-restic$IN" || die "restic restore differs from $NEWEST"
	rm -rf "$W/restore-restic"
	# Housekeeping: forget all but the newest KEEP snapshots, prune, check.
	if ((N > KEEP)); then
		restic forget --keep-last "$KEEP" >"$W/logs/restic-forget.log" 2>&1 ||
			{ cat "$W/logs/restic-forget.log" >&2; die "restic forget failed"; }
	fi
	PRUNE_BEFORE[$inst]=$(du_b "$RESTIC_REPOSITORY")
	timed restic-prune restic prune
	PRUNE_T[$inst]=$T_SEC PRUNE_RSS[$inst]=$T_RSS PRUNE_AFTER[$inst]=$(du_b "$RESTIC_REPOSITORY")
	timed restic-check restic check --read-data
	CHECK_T[$inst]=$T_SEC CHECK_RSS[$inst]=$T_RSS
	rm -rf "$RESTIC_REPOSITORY" "$RESTIC_CACHE_DIR"
}

# --- borg ------------------------------------------------------------------
# run_borg INSTANCE COMPRESSION
run_borg() {
	local inst=$1 comp=$2 s i
	s=$(slug "$inst")
	export BORG_REPO=$W/$s BORG_BASE_DIR=$W/$s-home
	export BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK=yes
	VER[$inst]="$(borg --version) ($comp)"
	borg init --encryption=none >"$W/logs/$s-init.log" 2>&1 ||
		{ cat "$W/logs/$s-init.log" >&2; die "borg init failed"; }
	for i in "${!TARS[@]}"; do
		stage "${TARS[$i]}"
		# Default chunker (buzhash 19,23,21,4095); lz4 is borg's default compression.
		timed "$s-create-$i" borg create --stats --compression "$comp" "::$(gen_name "$i")" input/data.tar
		record "$inst" "$i" "$BORG_REPO"
	done
	REPO[$inst]=$(du_b "$BORG_REPO")
	mkdir -p "$W/restore-borg"
	timed "$s-extract" -C "$W/restore-borg" borg extract "::$(gen_name $((N - 1)))"
	RES_T[$inst]=$T_SEC RES_RSS[$inst]=$T_RSS
	cmp "$NEWEST" "$W/restore-borg/input/data.tar" || die "borg restore differs from $NEWEST"
	rm -rf "$W/restore-borg"
	# Housekeeping: delete all but the newest KEEP archives, compact, check.
	if ((N > KEEP)); then
		borg prune --keep-last "$KEEP" >"$W/logs/$s-prune.log" 2>&1 ||
			{ cat "$W/logs/$s-prune.log" >&2; die "borg prune failed"; }
	fi
	PRUNE_BEFORE[$inst]=$(du_b "$BORG_REPO")
	timed "$s-compact" borg compact
	PRUNE_T[$inst]=$T_SEC PRUNE_RSS[$inst]=$T_RSS PRUNE_AFTER[$inst]=$(du_b "$BORG_REPO")
	timed "$s-check" borg check --verify-data
	CHECK_T[$inst]=$T_SEC CHECK_RSS[$inst]=$T_RSS
	rm -rf "$BORG_REPO" "$BORG_BASE_DIR"
}

# record INSTANCE I REPO_DIR: note generation I's ingest time and repo size.
record() {
	GEN_T[$1,$2]=$T_SEC
	GEN_REPO[$1,$2]=$(du_b "$3")
	ING_T[$1]=$(calc %.2f "${ING_T[$1]:-0} + $T_SEC")
	if ((T_RSS > ${ING_RSS[$1]:-0})); then ING_RSS[$1]=$T_RSS; fi
	echo "bench: $SETNAME $1 $(gen_name "$2") ${T_SEC}s repo $(mib "${GEN_REPO[$1,$2]}") MiB" >&2
}

# --- report ----------------------------------------------------------------
set_report() {
	local t i row
	echo "### End-to-end: $N successive backups of $SETNAME"
	echo
	echo "Logical data: $LOGICAL bytes ($(mib "$LOGICAL") MiB) in $N tars;" \
		"restore = newest tar, $(mib "$NEWEST_B") MiB."
	echo
	echo "| Tool | Ingest total (s) | Ingest MiB/s | Max RSS ingest (MiB) | Repo on disk (bytes) | Repo (MiB) | Dedup (logical / on disk) | Tool's own dedup_ratio | Restore (s) | Restore MiB/s | Max RSS restore (MiB) |"
	echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
	for t in "${INSTANCES[@]}"; do
		echo "| ${VER[$t]} | ${ING_T[$t]} | $(calc %.1f "$LOGICAL / 1048576 / ${ING_T[$t]}")" \
			"| $(mib "$((ING_RSS[$t] * 1024))") | ${REPO[$t]} | $(mib "${REPO[$t]}")" \
			"| $(calc %.2f "$LOGICAL / ${REPO[$t]}") | ${OWN_RATIO[$t]:-n/a}" \
			"| ${RES_T[$t]} | $(calc %.1f "$NEWEST_B / 1048576 / ${RES_T[$t]}") | $(mib "$((RES_RSS[$t] * 1024))") |"
	done
	echo
	echo "Housekeeping: all but the newest $KEEP generations deleted (backstop rm, restic forget" \
		"--keep-last, borg prune --keep-last), then space reclaimed (backstop housekeeping, restic prune," \
		"borg compact) and everything read back and checked (backstop verify, restic check" \
		"--read-data, borg check --verify-data)."
	echo
	echo "| Tool | Repo before (MiB) | Repo after (MiB) | Reclaimed (MiB) | Reclaim (s) | Reclaim max RSS (MiB) | Verify (s) | Verify MiB/s of repo | Verify max RSS (MiB) |"
	echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
	for t in "${INSTANCES[@]}"; do
		echo "| ${VER[$t]} | $(mib "${PRUNE_BEFORE[$t]}") | $(mib "${PRUNE_AFTER[$t]}")" \
			"| $(mib "$((PRUNE_BEFORE[$t] - PRUNE_AFTER[$t]))") | ${PRUNE_T[$t]} | $(mib "$((PRUNE_RSS[$t] * 1024))")" \
			"| ${CHECK_T[$t]} | $(calc %.1f "${PRUNE_AFTER[$t]} / 1048576 / ${CHECK_T[$t]}") | $(mib "$((CHECK_RSS[$t] * 1024))") |"
	done
	echo
	echo "Per generation: ingest seconds and repo size (MiB) after that backup."
	echo
	row="| Gen | Tar | Tar MiB |"
	for t in "${INSTANCES[@]}"; do row+=" $t s | $t repo MiB |"; done
	echo "$row"
	row="|---|---|---:|"
	for t in "${INSTANCES[@]}"; do row+="---:|---:|"; done
	echo "$row"
	for i in "${!TARS[@]}"; do
		row="| $((i + 1)) | $(basename "${TARS[$i]}") | $(mib "$(stat -c %s "${TARS[$i]}")") |"
		for t in "${INSTANCES[@]}"; do row+=" ${GEN_T[$t,$i]} | $(mib "${GEN_REPO[$t,$i]}") |"; done
		echo "$row"
	done
	echo
}

# xrestic SET BYTES: BYTES over restic's stored bytes for SET (n/a without).
xrestic() {
	if [[ -n $2 && -n ${ALL_REPO[$1,restic]:-} ]]; then calc %.2f "$2 / ${ALL_REPO[$1,restic]}"; else echo n/a; fi
}
mib_or_na() { if [[ -n $1 ]]; then mib "$1"; else echo n/a; fi; }
COLD_LABEL=${BACKSTOP_COLD_LEVEL:-off}

# The one table the issue asks for: every set, every instance, stored bytes
# and their ratio to restic's.
density_report() {
	local s t r
	echo "### Density: stored bytes on disk after all backups (allocated, index included)"
	echo
	echo "Goal (issue 16): Backstop's default at most 0.8x restic's stored bytes on every set."
	echo
	echo "| Data set | Logical MiB | Tool (compression) | Stored bytes | Stored MiB | x restic | Ingest MiB/s | Idle: after recompression (MiB) | x restic | Cold ($COLD_LABEL, MiB) | x restic |"
	echo "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|"
	for s in "${!SETS[@]}"; do
		for t in "${INSTANCES[@]}"; do
			echo "| ${ALL_NAME[$s]} | $(mib "${ALL_LOGICAL[$s]}") | ${ALL_VER[$s,$t]} | ${ALL_REPO[$s,$t]}" \
				"| $(mib "${ALL_REPO[$s,$t]}") | $(xrestic "$s" "${ALL_REPO[$s,$t]}") | ${ALL_RATE[$s,$t]}" \
				"| $(mib_or_na "${ALL_IDLE[$s,$t]:-}") | $(xrestic "$s" "${ALL_IDLE[$s,$t]:-}")" \
				"| $(mib_or_na "${ALL_COLD[$s,$t]:-}") | $(xrestic "$s" "${ALL_COLD[$s,$t]:-}") |"
		done
	done
	echo
	echo "Idle: after \`backstop housekeeping --recompress\` (what background recompression stores;" \
		"n/a: the binary has no --recompress). Cold: then \`--recompress --cold-now --cold-level\`" \
		"BACKSTOP_COLD_LEVEL (n/a: not set)."
	echo
	echo "Machine: $(nproc) CPUs ($(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'))," \
		"$(awk '/^MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo) RAM," \
		"kernel $(uname -r), $(sed -n 's/^PRETTY_NAME="\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' /etc/os-release)," \
		"work dir on $(df -T "$W" | awk 'NR == 2 {print $2}'); $(go version | cut -d' ' -f3)."
	echo "Run started $START; load average at start: $LOAD, at end: $(cut -d' ' -f1-3 /proc/loadavg)."
}

declare -A ALL_VER
START=$(date -u +%FT%TZ)
LOAD=$(cut -d' ' -f1-3 /proc/loadavg)
out=${RESULTS:-/dev/null}
: >"$out"
for s in "${!SETS[@]}"; do
	load_set "${SETS[$s]}"
	for t in "${INSTANCES[@]}"; do
		case $t in
		backstop:*) run_backstop "$t" "${t#backstop:}" ;;
		restic) run_restic ;;
		borg:*) run_borg "$t" "${t#borg:}" ;;
		esac
		sync
		ALL_REPO[$s,$t]=${REPO[$t]} ALL_VER[$s,$t]=${VER[$t]}
		ALL_IDLE[$s,$t]=${IDLE[$t]:-} ALL_COLD[$s,$t]=${COLD[$t]:-}
		ALL_RATE[$s,$t]=$(calc %.1f "$LOGICAL / 1048576 / ${ING_T[$t]}")
	done
	ALL_NAME[$s]=$SETNAME ALL_LOGICAL[$s]=$LOGICAL
	set_report | tee -a "$out"
done
density_report | tee -a "$out"
