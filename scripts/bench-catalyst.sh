#!/bin/sh
# make bench-catalyst: the Catalyst protocol's figures.
#  1. go test -bench ./catalyst/: put MiB/s in both transfer modes (new and
#     repeated data), get MiB/s, over loopback TLS in one process; and the
#     wire bytes of a second backup differing by 1% against the s2 size of
#     the chunks it changed.
#  2. End to end with the CLI against a running "backstop serve": two
#     backups of SIZE_MIB MiB that differ by 1% (scattered 8 KiB edits),
#     then a restore; and restic backing up the same two files to a local
#     repository (installed from Debian if missing).
# Results go to $RESULTS (markdown). Usage: scripts/bench-catalyst.sh [DIR]
set -eu
DIR=${1:-/tmp/backstop-bench-catalyst}
RESULTS=${RESULTS:-bench-results/catalyst.md}
SIZE_MIB=${SIZE_MIB:-256}
BACKSTOP=${BACKSTOP:-$(pwd)/backstop}
GO=${GO:-go}
mkdir -p "$(dirname "$RESULTS")"
rm -rf "$DIR"
mkdir -p "$DIR/src"
command -v restic >/dev/null || { apt-get update -qq && apt-get install -y -qq restic >/dev/null; }

echo "== go benchmarks"
if [ -z "${SKIP_GO:-}" ]; then
	$GO test -run '^$' -bench . -benchtime 3x ./catalyst/ | tee "$DIR/go-bench.txt"
else
	: >"$DIR/go-bench.txt"
fi

echo "== data: $SIZE_MIB MiB, and a copy with 1% changed"
python3 - "$DIR" "$SIZE_MIB" <<'PY'
import base64, os, random, sys
d, mib = sys.argv[1], int(sys.argv[2])
r = random.Random(1)
n = mib << 20
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
open(os.path.join(d, "a.bin"), "wb").write(buf)
for _ in range(n // 100 // 8192):
    off = r.randrange(0, n - 8192)
    buf[off:off + 8192] = r.randbytes(8192)
open(os.path.join(d, "b.bin"), "wb").write(buf)
PY

echo "== backstop serve"
export BACKSTOP_ADMIN_PASSWORD=bench-catalyst-pw BACKSTOP_PASSWORD=bench-catalyst-pw
"$BACKSTOP" serve --data "$DIR/data" --web 127.0.0.1:0 --catalyst 127.0.0.1:0 --smb "" --iscsi "" >"$DIR/serve.log" 2>&1 &
SERVE=$!
trap 'kill $SERVE 2>/dev/null; wait $SERVE 2>/dev/null || true' EXIT
ADDR=
for _ in $(seq 100); do
	ADDR=$(sed -n 's/.*catalyst (client-side dedup, TLS): //p' "$DIR/serve.log")
	[ -n "$ADDR" ] && break
	sleep 0.2
done
[ -n "$ADDR" ] || { cat "$DIR/serve.log"; exit 1; }
R="--server $ADDR --ca $DIR/data/tls/cert.pem --user admin"
now() { date +%s.%N; }
secs() { echo "$2 - $1" | bc; }

t0=$(now); "$BACKSTOP" put $R first "$DIR/a.bin" >"$DIR/put1.txt"; t1=$(now)
"$BACKSTOP" put $R second "$DIR/b.bin" >"$DIR/put2.txt"; t2=$(now)
"$BACKSTOP" get $R second "$DIR/restored.bin" 2>/dev/null; t3=$(now)
cmp "$DIR/b.bin" "$DIR/restored.bin"
cat "$DIR/put1.txt" "$DIR/put2.txt"

echo "== restic"
export RESTIC_PASSWORD=bench RESTIC_REPOSITORY="$DIR/restic"
restic init -q
cp "$DIR/a.bin" "$DIR/src/data.bin"
r0=$(now); restic backup "$DIR/src" >"$DIR/restic1.txt"; r1=$(now)
cp "$DIR/b.bin" "$DIR/src/data.bin"
r2=$(now); restic backup "$DIR/src" >"$DIR/restic2.txt"; r3=$(now)
tail -n 3 "$DIR/restic1.txt" "$DIR/restic2.txt"

mib=$SIZE_MIB
{
	echo "## Catalyst ($(date -u +%FT%TZ), load $(cut -d' ' -f1-3 /proc/loadavg))"
	echo
	echo '```'
	grep -E '^Benchmark' "$DIR/go-bench.txt" || true
	echo '```'
	echo
	echo "End to end, $mib MiB, CLI over loopback TLS against backstop serve:"
	echo
	echo "| step | seconds | MiB/s | output |"
	echo "|---|---|---|---|"
	echo "| put (new data) | $(secs $t0 $t1) | $(echo "scale=1; $mib / ($t1 - $t0)" | bc) | $(tail -1 "$DIR/put1.txt") |"
	echo "| put (1% changed) | $(secs $t1 $t2) | $(echo "scale=1; $mib / ($t2 - $t1)" | bc) | $(tail -1 "$DIR/put2.txt") |"
	echo "| get | $(secs $t2 $t3) | $(echo "scale=1; $mib / ($t3 - $t2)" | bc) | |"
	echo "| restic backup (new data) | $(secs $r0 $r1) | $(echo "scale=1; $mib / ($r1 - $r0)" | bc) | $(grep 'Added to the repository' "$DIR/restic1.txt") |"
	echo "| restic backup (1% changed) | $(secs $r2 $r3) | $(echo "scale=1; $mib / ($r3 - $r2)" | bc) | $(grep 'Added to the repository' "$DIR/restic2.txt") |"
} >>"$RESULTS"
echo "results appended to $RESULTS"
