#!/usr/bin/env bash
# End-to-end throughput of `backstop put` and `backstop get` on synthetic
# data (tools/benchdata: log-like text and binary, ~1.5:1 compressible):
#   - unique data: a 2 GiB file never seen before
#   - data already stored: the same file again under another name
#   - restore: the newest of 20 generations of a 1 GiB data set, each
#     changing ~2% of the one before, restored to /dev/null and to a file
# Usage: scripts/bench-synthetic.sh [WORKDIR]   (BACKSTOP=path/to/binary)
set -euo pipefail
cd "$(dirname "$0")/.."
W=${1:-/tmp/backstop-synth}
mkdir -p "$W"
BIN=${BACKSTOP:-$W/backstop}
[ -n "${BACKSTOP:-}" ] || go build -o "$BIN" ./cmd/backstop
go build -o "$W/benchdata" ./tools/benchdata
D=$W/data
rm -rf "$D"
trap 'rm -rf "$D" "$W"/gen.bin "$W"/restored.bin' EXIT

now() { date +%s.%N; }
mibs() { echo "scale=0; $1 / 1048576 / ($3 - $2)" | bc; }

echo "generating 2 GiB of unique data..." >&2
"$W/benchdata" -size 2G -seed 1 > "$W/unique.bin"
cat "$W/unique.bin" > /dev/null   # in the page cache, so the disk read is not measured
SIZE=$(stat -c %s "$W/unique.bin")

t0=$(now); "$BIN" put --data "$D" unique "$W/unique.bin" >&2; t1=$(now)
"$BIN" put --data "$D" again "$W/unique.bin" >&2; t2=$(now)
UNIQUE=$(mibs "$SIZE" "$t0" "$t1"); DUP=$(mibs "$SIZE" "$t1" "$t2")
STORED=$("$BIN" stats --json --data "$D" | jq .stored_bytes)

echo "storing 20 generations of 1 GiB..." >&2
for g in $(seq -w 1 20); do
  "$W/benchdata" -size 1G -seed 7 -gen "$((10#$g))" > "$W/gen.bin"
  "$BIN" put --data "$D" "gen-$g" "$W/gen.bin" >&2
done
GSIZE=$(stat -c %s "$W/gen.bin")
t0=$(now); "$BIN" get --data "$D" gen-20 - > /dev/null; t1=$(now)
"$BIN" get --data "$D" gen-20 "$W/restored.bin" 2>/dev/null; t2=$(now)
cmp "$W/restored.bin" "$W/gen.bin"
RESTORE_NULL=$(mibs "$GSIZE" "$t0" "$t1"); RESTORE_FILE=$(mibs "$GSIZE" "$t1" "$t2")
GEN_RATIO=$("$BIN" stats --json --data "$D" | jq '.stores[0].dedup_ratio')

{
  echo "| end to end, through the CLI | MiB/s |"
  echo "|---|---|"
  echo "| put, 2 GiB unique data (stored $(echo "scale=2; $SIZE / $STORED" | bc):1 after compression) | $UNIQUE |"
  echo "| put, the same 2 GiB again (already stored) | $DUP |"
  echo "| get, newest of 20 generations of 1 GiB, to /dev/null | $RESTORE_NULL |"
  echo "| get, the same, to a file on the same disk (fsync'ed) | $RESTORE_FILE |"
  echo
  echo "Dedup ratio of the 22 items (2 unique + 20 generations): $GEN_RATIO"
} | tee -a "${RESULTS:-/dev/null}"
