#!/usr/bin/env bash
# bench-e2e.sh [DATA_DIR [BACKSTOP_BIN]] — end-to-end "real data" benchmark.
#
# Backs up the 20 tars made by scripts/realdata.sh (successive releases of one
# Go module) in order, one backup per tar, with Backstop, restic and borg, then
# restores the newest one with each tool and checks it byte for byte. Prints a
# markdown report (also written to $RESULTS if set).
#
#   DATA_DIR     data set directory (default /tmp/backstop-bench); built with
#                scripts/realdata.sh if missing
#   BACKSTOP_BIN backstop binary (default: go build ./cmd/backstop)
# Environment:
#   TOOLS="backstop restic borg"  which tools to run, in this order
#   RESULTS=FILE                  also write the report here
#   KEEP_WORK=1                   keep the temporary work directory
#   GENS=N                        use only the first N tars (quick checks)
#
# Every timed step runs under GNU time and is followed by `sync` inside the
# timed region, so a tool that leaves its writes in the page cache is not
# favoured. The tars are read from the page cache by all tools (warmed first).
set -euo pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DATA_DIR=${1:-${DATA_DIR:-/tmp/backstop-bench}}
BACKSTOP=${2:-${BACKSTOP:-}}
read -r -a TOOLS <<<"${TOOLS:-backstop restic borg}"
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

# --- data set --------------------------------------------------------------
"$REPO_ROOT/scripts/realdata.sh" "$DATA_DIR" >&2
DATA_DIR=$(cd "$DATA_DIR" && pwd)
TARS=("$DATA_DIR"/tars/[0-9][0-9]-*.tar) # glob order = generation order
[[ -f ${TARS[0]} ]] || die "no tars in $DATA_DIR/tars"
[[ -n ${GENS:-} ]] && TARS=("${TARS[@]:0:GENS}") # quick runs: first GENS only
N=${#TARS[@]}
NEWEST=${TARS[N - 1]}
MODULE=$(cut -d' ' -f1 "$DATA_DIR/COMPLETE")

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

LOGICAL=0
for t in "${TARS[@]}"; do LOGICAL=$((LOGICAL + $(stat -c %s "$t"))); done
NEWEST_B=$(stat -c %s "$NEWEST")
cat "${TARS[@]}" >/dev/null # warm the page cache equally for every tool

# Results per tool: ingest seconds / max RSS, repo bytes, restore seconds...
declare -A GEN_T GEN_REPO ING_T ING_RSS REPO OWN_RATIO RES_T RES_RSS VER
# Housekeeping after deleting all but the newest KEEP generations.
KEEP=${KEEP:-5}
declare -A PRUNE_BEFORE PRUNE_AFTER PRUNE_T PRUNE_RSS CHECK_T CHECK_RSS

# gen_name I -> gen-01 ... (generation numbering starts at 1)
gen_name() { printf 'gen-%02d' "$(($1 + 1))"; }

# --- Backstop --------------------------------------------------------------
run_backstop() {
	local D=$W/backstop-data out=$W/restore-backstop.tar i stats
	VER[backstop]=$("$BACKSTOP" version) # "backstop <git describe>" (or "dev")
	for i in "${!TARS[@]}"; do
		stage "${TARS[$i]}"
		timed "backstop-put-$i" "$BACKSTOP" put --data "$D" --store default "$(gen_name "$i")" "$IN"
		record backstop "$i" "$D"
	done
	stats=$("$BACKSTOP" stats --json --data "$D")
	echo "$stats" >"$W/logs/backstop-stats.json"
	echo "bench: backstop stats: $stats" >&2
	OWN_RATIO[backstop]=$(calc %.2f "$(jq -er '.dedup_ratio' <<<"$stats")")
	# Backstop's own accounting must agree with what we fed it.
	[[ $(jq -er '.logical_bytes' <<<"$stats") == "$LOGICAL" ]] ||
		echo "bench: WARNING: backstop logical_bytes $(jq -r .logical_bytes <<<"$stats") != $LOGICAL" >&2
	jq -er '.stored_bytes' <<<"$stats" >/dev/null
	REPO[backstop]=$(du_b "$D")
	timed backstop-get "$BACKSTOP" get --data "$D" --store default "$(gen_name $((N - 1)))" "$out"
	RES_T[backstop]=$T_SEC RES_RSS[backstop]=$T_RSS
	cmp "$NEWEST" "$out" || die "backstop restore differs from $NEWEST"
	rm -f "$out"
	# Housekeeping: delete all but the newest KEEP generations, reclaim, verify.
	local names=()
	for ((i = 0; i < N - KEEP; i++)); do names+=("$(gen_name "$i")"); done
	((${#names[@]})) && "$BACKSTOP" rm --data "$D" --store default "${names[@]}" >"$W/logs/backstop-rm.log"
	PRUNE_BEFORE[backstop]=$(du_b "$D")
	timed backstop-gc "$BACKSTOP" housekeeping --data "$D"
	PRUNE_T[backstop]=$T_SEC PRUNE_RSS[backstop]=$T_RSS PRUNE_AFTER[backstop]=$(du_b "$D")
	timed backstop-verify "$BACKSTOP" verify --data "$D"
	CHECK_T[backstop]=$T_SEC CHECK_RSS[backstop]=$T_RSS
	cat "$W/logs/backstop-gc.log" >&2
}

# --- restic ----------------------------------------------------------------
run_restic() {
	export RESTIC_REPOSITORY=$W/restic RESTIC_PASSWORD=bench RESTIC_CACHE_DIR=$W/restic-cache
	local i
	VER[restic]=$(restic version | cut -d' ' -f1-2)
	# Repository format 2 (compression), default compression "auto".
	restic init --repository-version 2 >"$W/logs/restic-init.log" 2>&1 ||
		{ cat "$W/logs/restic-init.log" >&2; die "restic init failed"; }
	for i in "${!TARS[@]}"; do
		stage "${TARS[$i]}"
		timed "restic-backup-$i" restic backup --host bench "$IN"
		record restic "$i" "$RESTIC_REPOSITORY"
	done
	REPO[restic]=$(du_b "$RESTIC_REPOSITORY")
	timed restic-restore restic restore latest --host bench --path "$IN" --target "$W/restore-restic"
	RES_T[restic]=$T_SEC RES_RSS[restic]=$T_RSS
	cmp "$NEWEST" "$W/restore-restic$IN" || die "restic restore differs from $NEWEST"
	rm -rf "$W/restore-restic"
	# Housekeeping: forget all but the newest KEEP snapshots, prune, check.
	if ((N > KEEP)); then
		restic forget --keep-last "$KEEP" >"$W/logs/restic-forget.log" 2>&1 ||
			{ cat "$W/logs/restic-forget.log" >&2; die "restic forget failed"; }
	fi
	PRUNE_BEFORE[restic]=$(du_b "$RESTIC_REPOSITORY")
	timed restic-prune restic prune
	PRUNE_T[restic]=$T_SEC PRUNE_RSS[restic]=$T_RSS PRUNE_AFTER[restic]=$(du_b "$RESTIC_REPOSITORY")
	timed restic-check restic check --read-data
	CHECK_T[restic]=$T_SEC CHECK_RSS[restic]=$T_RSS
}

# --- borg ------------------------------------------------------------------
run_borg() {
	export BORG_REPO=$W/borg BORG_BASE_DIR=$W/borg-home
	export BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK=yes
	local i
	VER[borg]=$(borg --version)
	borg init --encryption=none >"$W/logs/borg-init.log" 2>&1 ||
		{ cat "$W/logs/borg-init.log" >&2; die "borg init failed"; }
	for i in "${!TARS[@]}"; do
		stage "${TARS[$i]}"
		# Defaults: lz4 compression, buzhash chunker 19,23,21,4095.
		timed "borg-create-$i" borg create --stats "::$(gen_name "$i")" input/data.tar
		record borg "$i" "$BORG_REPO"
	done
	REPO[borg]=$(du_b "$BORG_REPO")
	mkdir -p "$W/restore-borg"
	timed borg-extract -C "$W/restore-borg" borg extract "::$(gen_name $((N - 1)))"
	RES_T[borg]=$T_SEC RES_RSS[borg]=$T_RSS
	cmp "$NEWEST" "$W/restore-borg/input/data.tar" || die "borg restore differs from $NEWEST"
	rm -rf "$W/restore-borg"
	# Housekeeping: delete all but the newest KEEP archives, compact, check.
	if ((N > KEEP)); then
		borg prune --keep-last "$KEEP" >"$W/logs/borg-prune.log" 2>&1 ||
			{ cat "$W/logs/borg-prune.log" >&2; die "borg prune failed"; }
	fi
	PRUNE_BEFORE[borg]=$(du_b "$BORG_REPO")
	timed borg-compact borg compact
	PRUNE_T[borg]=$T_SEC PRUNE_RSS[borg]=$T_RSS PRUNE_AFTER[borg]=$(du_b "$BORG_REPO")
	timed borg-check borg check --verify-data
	CHECK_T[borg]=$T_SEC CHECK_RSS[borg]=$T_RSS
}

# record TOOL I REPO_DIR: note generation I's ingest time and repo size.
record() {
	GEN_T[$1,$2]=$T_SEC
	GEN_REPO[$1,$2]=$(du_b "$3")
	ING_T[$1]=$(calc %.2f "${ING_T[$1]:-0} + $T_SEC")
	if ((T_RSS > ${ING_RSS[$1]:-0})); then ING_RSS[$1]=$T_RSS; fi
	echo "bench: $1 $(gen_name "$2") ${T_SEC}s repo $(mib "${GEN_REPO[$1,$2]}") MiB" >&2
}

START=$(date -u +%FT%TZ)
LOAD=$(cut -d' ' -f1-3 /proc/loadavg)
for t in "${TOOLS[@]}"; do
	case $t in
	backstop | restic | borg) "run_$t" ;;
	*) die "unknown tool: $t" ;;
	esac
	sync
done

# --- report ----------------------------------------------------------------
report() {
	local t i row
	echo "### End-to-end: $N successive backups of $MODULE"
	echo
	echo "Logical data: $LOGICAL bytes ($(mib "$LOGICAL") MiB) in $N tars;" \
		"restore = newest tar, $(mib "$NEWEST_B") MiB."
	echo
	echo "| Tool | Ingest total (s) | Ingest MiB/s | Max RSS ingest (MiB) | Repo on disk (bytes) | Repo (MiB) | Dedup (logical / on disk) | Tool's own dedup_ratio | Restore (s) | Restore MiB/s | Max RSS restore (MiB) |"
	echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
	for t in "${TOOLS[@]}"; do
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
	for t in "${TOOLS[@]}"; do
		echo "| ${VER[$t]} | $(mib "${PRUNE_BEFORE[$t]}") | $(mib "${PRUNE_AFTER[$t]}")" \
			"| $(mib "$((PRUNE_BEFORE[$t] - PRUNE_AFTER[$t]))") | ${PRUNE_T[$t]} | $(mib "$((PRUNE_RSS[$t] * 1024))")" \
			"| ${CHECK_T[$t]} | $(calc %.1f "${PRUNE_AFTER[$t]} / 1048576 / ${CHECK_T[$t]}") | $(mib "$((CHECK_RSS[$t] * 1024))") |"
	done
	echo
	echo "Per generation: ingest seconds and repo size (MiB) after that backup."
	echo
	row="| Gen | Tar | Tar MiB |"
	for t in "${TOOLS[@]}"; do row+=" $t s | $t repo MiB |"; done
	echo "$row"
	row="|---|---|---:|"
	for t in "${TOOLS[@]}"; do row+="---:|---:|"; done
	echo "$row"
	for i in "${!TARS[@]}"; do
		row="| $((i + 1)) | $(basename "${TARS[$i]}") | $(mib "$(stat -c %s "${TARS[$i]}")") |"
		for t in "${TOOLS[@]}"; do row+=" ${GEN_T[$t,$i]} | $(mib "${GEN_REPO[$t,$i]}") |"; done
		echo "$row"
	done
	echo
	echo "Machine: $(nproc) CPUs ($(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'))," \
		"$(awk '/^MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo) RAM," \
		"kernel $(uname -r), $(sed -n 's/^PRETTY_NAME="\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' /etc/os-release)," \
		"work dir on $(df -T "$W" | awk 'NR == 2 {print $2}'); $(go version | cut -d' ' -f3)."
	echo "Run started $START; load average at start: $LOAD, at end: $(cut -d' ' -f1-3 /proc/loadavg)."
	echo "Tools: $(for t in "${TOOLS[@]}"; do printf '%s, ' "${VER[$t]}"; done | sed 's/, $//')."
}

if [[ -n $RESULTS ]]; then
	report | tee "$RESULTS"
else
	report
fi
