#!/usr/bin/env bash
# make bench-catalyst: the Catalyst protocol's figures.
#  1. go test -bench ./catalyst/: put MiB/s in both transfer modes (new and
#     repeated data), get MiB/s, over loopback TLS in one process; and the
#     wire bytes of a second backup differing by 1% against the s2 size of
#     the chunks it changed.
#  2. End to end with the CLI against a running "backstop serve", checked
#     against the goals of issue 16:
#     - rate: REPS low bandwidth puts of SIZE_MIB MiB of new data each
#       (distinct files) over loopback TLS against restic backing up the
#       same files to a local repository; goal: the median put at least
#       1.5x restic's median rate;
#     - wire: a second backup of the first file with 1% changed (scattered
#       8 KiB edits); goal: the bytes it sent on the wire (TLS included, the
#       client's count) at most 1.25x the bytes it added to the appliance
#       (stored_bytes of `backstop stats --json` before and after);
#     then a restore, compared byte for byte.
# Every timed step ends with sync inside the timed region.
# Results go to $RESULTS (markdown). Usage: scripts/bench-catalyst.sh [DIR]
# Environment: SIZE_MIB (256), REPS (3), SKIP_GO=1 (no go benchmarks),
# BACKSTOP (./backstop), GO (go).
set -euo pipefail
DIR=${1:-/tmp/backstop-bench-catalyst}
RESULTS=${RESULTS:-bench-results/catalyst.md}
SIZE_MIB=${SIZE_MIB:-256}
REPS=${REPS:-3}
BACKSTOP=${BACKSTOP:-$(pwd)/backstop}
GO=${GO:-go}
mkdir -p "$(dirname "$RESULTS")"
rm -rf "$DIR"
mkdir -p "$DIR/src"
for c in restic jq bc; do
	command -v $c >/dev/null || { apt-get update -qq && apt-get install -y -qq $c >/dev/null; }
done

echo "== go benchmarks"
if [ -z "${SKIP_GO:-}" ]; then
	$GO test -run '^$' -bench . -benchtime 3x ./catalyst/ | tee "$DIR/go-bench.txt"
else
	: >"$DIR/go-bench.txt"
fi

echo "== data: $REPS x $SIZE_MIB MiB, and a copy of the first with 1% changed"
python3 - "$DIR" "$SIZE_MIB" "$REPS" <<'PY'
import base64, os, random, sys
d, mib, reps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
n = mib << 20
for rep in range(reps):
    r = random.Random(1 + rep)
    words = [base64.b32encode(r.randbytes(r.randint(2, 5))).decode().lower().strip("=") for _ in range(300)]
    text = "".join(  # log lines: compress about 3:1 with s2
        f"2026-11-22T{i // 3600 % 24:02d}:{i // 60 % 60:02d}:{i % 60:02d}Z INFO request id={r.randrange(10**6)} "
        f"path=/api/v1/stores/{r.choice(words)}/items/{r.choice(words)} status={r.choice((200, 201, 404))} bytes={r.randrange(10**5)}\n"
        for i in range(100000)).encode()
    buf = bytearray()
    while len(buf) < n:
        k = r.randint(512, 8192)
        if r.random() < 0.5:
            buf += r.randbytes(k)
        else:
            off = r.randrange(0, len(text) - k)
            buf += text[off:off + k]
    del buf[n:]
    open(os.path.join(d, f"a{rep + 1}.bin"), "wb").write(buf)
    if rep == 0:
        for _ in range(n // 100 // 8192):
            off = r.randrange(0, n - 8192)
            buf[off:off + 8192] = r.randbytes(8192)
        open(os.path.join(d, "b.bin"), "wb").write(buf)
PY
cat "$DIR"/*.bin >/dev/null # page cache, for both tools

echo "== backstop serve"
export BACKSTOP_ADMIN_PASSWORD=bench-catalyst-pw BACKSTOP_PASSWORD=bench-catalyst-pw
"$BACKSTOP" serve --data "$DIR/data" --web 127.0.0.1:0 --catalyst 127.0.0.1:0 --smb "" --iscsi "" --replication "" >"$DIR/serve.log" 2>&1 &
SERVE=$!
trap 'kill $SERVE 2>/dev/null; wait $SERVE 2>/dev/null || true' EXIT
ADDR=
for _ in $(seq 100); do
	ADDR=$(sed -n 's/.*catalyst (client-side dedup, TLS): //p' "$DIR/serve.log")
	[ -n "$ADDR" ] && break
	sleep 0.2
done
[ -n "$ADDR" ] || { cat "$DIR/serve.log"; exit 1; }
R=(--server "$ADDR" --ca "$DIR/data/tls/cert.pem" --user admin)
now() { date +%s.%N; }
secs() { echo "$2 - $1" | bc; }
rate() { echo "scale=1; $SIZE_MIB / ($2 - $1)" | bc; }
median() { tr ' ' '\n' | grep . | sort -g | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
stored() { "$BACKSTOP" stats "${R[@]}" --json | jq -er .stored_bytes; }
# wire_bytes FILE: "... 23.1 MiB sent on the wire ..." -> bytes.
wire_bytes() {
	sed -n 's/.*, \([0-9.]*\) \([KMGT]*i*B\) sent on the wire.*/\1 \2/p' "$1" |
		awk '{m = 1; if ($2 == "KiB") m = 2^10; if ($2 == "MiB") m = 2^20; if ($2 == "GiB") m = 2^30; printf "%.0f", $1 * m}'
}

declare -a PUT_RATE RESTIC_RATE
for ((k = 1; k <= REPS; k++)); do
	t0=$(now); "$BACKSTOP" put "${R[@]}" "first$k" "$DIR/a$k.bin" >"$DIR/put-a$k.txt"; sync; t1=$(now)
	PUT_RATE+=("$(rate "$t0" "$t1")")
	if ((k == 1)); then
		s0=$(stored)
		t1=$(now); "$BACKSTOP" put "${R[@]}" second "$DIR/b.bin" >"$DIR/put-b.txt"; sync; t2=$(now)
		s1=$(stored)
		SECOND_T=$(secs "$t1" "$t2") SECOND_RATE=$(rate "$t1" "$t2")
	fi
done
t2=$(now); "$BACKSTOP" get "${R[@]}" second "$DIR/restored.bin" 2>/dev/null; t3=$(now)
cmp "$DIR/b.bin" "$DIR/restored.bin"
rm -f "$DIR/restored.bin"
cat "$DIR"/put-*.txt
ADDED=$((s1 - s0))
WIRE=$(wire_bytes "$DIR/put-b.txt")

echo "== restic"
export RESTIC_PASSWORD=bench RESTIC_REPOSITORY="$DIR/restic" RESTIC_CACHE_DIR="$DIR/restic-cache"
restic init -q
for ((k = 1; k <= REPS; k++)); do
	ln -f "$DIR/a$k.bin" "$DIR/src/data.bin"
	r0=$(now); restic backup --host bench "$DIR/src" >"$DIR/restic-a$k.txt"; sync; r1=$(now)
	RESTIC_RATE+=("$(rate "$r0" "$r1")")
	if ((k == 1)); then
		ln -f "$DIR/b.bin" "$DIR/src/data.bin"
		r2=$(now); restic backup --host bench "$DIR/src" >"$DIR/restic-b.txt"; sync; r3=$(now)
	fi
done
tail -n 3 "$DIR"/restic-*.txt

PUT_MED=$(echo "${PUT_RATE[*]}" | median)
RESTIC_MED=$(echo "${RESTIC_RATE[*]}" | median)
RATE_X=$(echo "scale=2; $PUT_MED / $RESTIC_MED" | bc)
WIRE_X=$(echo "scale=3; $WIRE / $ADDED" | bc)
verdict() { if [ "$(echo "$1" | bc)" = 1 ]; then echo met; else echo "NOT met"; fi; }
{
	echo "## Catalyst ($(date -u +%FT%TZ), load $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) CPUs)"
	echo
	echo '```'
	grep -E '^Benchmark' "$DIR/go-bench.txt" || true
	echo '```'
	echo
	echo "End to end, $SIZE_MIB MiB per backup, CLI over loopback TLS against backstop serve," \
		"restic $(restic version | cut -d' ' -f2) backing up the same files to a local repository:"
	echo
	echo "| step | seconds | MiB/s | output |"
	echo "|---|---|---|---|"
	for ((k = 1; k <= REPS; k++)); do
		echo "| put $k (new data) | | ${PUT_RATE[k - 1]} | $(tail -1 "$DIR/put-a$k.txt") |"
	done
	echo "| put (1% changed) | $SECOND_T | $SECOND_RATE | $(tail -1 "$DIR/put-b.txt") |"
	echo "| get | $(secs "$t2" "$t3") | $(rate "$t2" "$t3") | |"
	for ((k = 1; k <= REPS; k++)); do
		echo "| restic backup $k (new data) | | ${RESTIC_RATE[k - 1]} | $(grep 'Added to the repository' "$DIR/restic-a$k.txt") |"
	done
	echo "| restic backup (1% changed) | $(secs "$r2" "$r3") | $(rate "$r2" "$r3") | $(grep 'Added to the repository' "$DIR/restic-b.txt") |"
	echo
	echo "Goals of issue 16:"
	echo
	echo "| goal | measured | |"
	echo "|---|---|---|"
	echo "| low bandwidth put of new data >= 1.5x restic's rate | median $PUT_MED MiB/s against restic's $RESTIC_MED MiB/s: **${RATE_X}x** | $(verdict "$RATE_X >= 1.5") |"
	echo "| wire bytes of the 1%-changed backup <= 1.25x the bytes it added | $WIRE bytes on the wire (TLS included) against $ADDED bytes added: **${WIRE_X}x** | $(verdict "$WIRE_X <= 1.25") |"
} | tee -a "$RESULTS"
echo "results appended to $RESULTS"
