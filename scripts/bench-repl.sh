#!/usr/bin/env bash
# Replication over loopback between two `backstop serve` processes, beside
# rsync of a restic repository holding the same backups:
#   - backup 1: SIZE of synthetic data (tools/benchdata generation 1)
#   - backup 2: the next generation (about 2% of its 1 MiB blocks changed)
# For each: wire bytes per logical byte; for the first, throughput.
# With CHECK=1 it then stops both appliances and checks that the target's
# copies read back byte-identical (make test-repl runs it so, small).
# Usage: scripts/bench-repl.sh [WORKDIR]   (BACKSTOP=binary, SIZE=512M, RESULTS=file.md, CHECK=1)
set -euo pipefail
cd "$(dirname "$0")/.."
W=${1:-/tmp/backstop-repl-bench}
SIZE=${SIZE:-512M}
rm -rf "$W"; mkdir -p "$W"
BIN=${BACKSTOP:-$W/backstop}
[ -n "${BACKSTOP:-}" ] || go build -o "$BIN" ./cmd/backstop
for tool in rsync restic jq curl bc; do
  command -v $tool >/dev/null || apt-get install -y $tool >&2
done
go build -o "$W/benchdata" ./tools/benchdata
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; rm -rf "$W/A" "$W/B" "$W/restic" "$W/restic-copy" "$W"/gen*.bin; }
trap cleanup EXIT
now() { date +%s.%N; }
export BACKSTOP_ADMIN_PASSWORD=bench-password-123

echo "generating 2 backups of $SIZE..." >&2
"$W/benchdata" -size "$SIZE" -seed 7 -gen 1 > "$W/gen1.bin"
"$W/benchdata" -size "$SIZE" -seed 7 -gen 2 > "$W/gen2.bin"
LOGICAL=$(stat -c %s "$W/gen1.bin")

# serve DIR NAME: starts an appliance, sets URL_NAME, REPL_NAME, FP_NAME, TOKEN_NAME.
serve() {
  local dir=$1 name=$2 log=$W/$2.log
  "$BIN" serve --data "$dir" --web 127.0.0.1:0 --catalyst off --smb "" --iscsi "" --replication 127.0.0.1:0 > "$log" 2>&1 &
  PIDS+=($!)
  for _ in $(seq 300); do grep -q "replication:" "$log" && grep -q "REST API" "$log" && break; sleep 0.1; done
  local url repl fp token
  url=$(grep -o 'https://127.0.0.1:[0-9]*' "$log" | head -1)
  repl=$(sed -n 's/.*replication: \([0-9.:]*\) .*/\1/p' "$log")
  fp=$(sed -n 's/.*certificate sha256 \([0-9a-f]*\).*/\1/p' "$log")
  token=$(curl -sk "$url/api/v1/sessions" -d "{\"username\":\"admin\",\"password\":\"$BACKSTOP_ADMIN_PASSWORD\"}" | jq -r .token)
  printf -v "URL_$name" %s "$url"; printf -v "REPL_$name" %s "$repl"; printf -v "FP_$name" %s "$fp"; printf -v "TOKEN_$name" %s "$token"
}
api() { local url=$1 token=$2 method=$3 path=$4; shift 4; curl -sfk -X "$method" -H "Authorization: Bearer $token" "$url/api/v1$path" "$@"; }
stop_last() { local p=${PIDS[-1]}; kill "$p"; wait "$p" || true; unset 'PIDS[-1]'; }
# wait_sync: until the mapping has nothing pending and a pass succeeded after $1.
wait_sync() {
  local since=$1 st
  while :; do
    st=$(api "$URL_A" "$TOKEN_A" GET /replication/mappings/bench)
    if [ "$(jq .items_pending <<<"$st")" = 0 ] && [ "$(jq -r .state <<<"$st")" = idle ] &&
       [ "$(jq -r .last_success <<<"$st")" \> "$since" ]; then echo "$st"; return; fi
    sleep 0.2
  done
}

"$BIN" put --data "$W/A" gen1 "$W/gen1.bin" >&2
serve "$W/B" B
serve "$W/A" A
api "$URL_B" "$TOKEN_B" POST /replication/sources -d "{\"name\":\"site-a\",\"fingerprint\":\"$FP_A\"}" >/dev/null
since=$(date -u +%Y-%m-%dT%H:%M:%S)
t0=$(now)
api "$URL_A" "$TOKEN_A" POST /replication/mappings -d "{\"name\":\"bench\",\"source_store\":\"default\",\"target\":\"$REPL_B\",\"target_fingerprint\":\"$FP_B\",\"target_store\":\"copy\"}" >/dev/null
st1=$(wait_sync "$since"); t1=$(now)
WIRE1=$(jq .wire_bytes <<<"$st1")
STORED1=$(jq .stored_bytes_sent <<<"$st1")

# The second backup goes into A while it is stopped (the data directory is
# held by serve), then A restarts and its mapping catches up by itself.
stop_last
"$BIN" put --data "$W/A" gen2 "$W/gen2.bin" >&2
since=$(date -u +%Y-%m-%dT%H:%M:%S)
serve "$W/A" A
st2=$(wait_sync "$since")
WIRE2=$(( $(jq .wire_bytes <<<"$st2") - WIRE1 ))
STORED2=$(( $(jq .stored_bytes_sent <<<"$st2") - STORED1 ))

if [ -n "${CHECK:-}" ]; then
  stop_last; stop_last
  for g in gen1 gen2; do
    "$BIN" get --data "$W/B" --store copy "$g" - | cmp - "$W/$g.bin"
  done
  if "$BIN" rm --data "$W/B" --store copy gen1 2>/dev/null; then echo "FAIL: the replica accepted a delete" >&2; exit 1; fi
  echo "ok: both backups replicated byte-identical ($WIRE1 + $WIRE2 wire bytes); the replica refuses deletes" >&2
  exit 0
fi

# restic + rsync of its repository.
export RESTIC_PASSWORD=bench RESTIC_REPOSITORY=$W/restic
restic init -q >/dev/null
restic backup -q "$W/gen1.bin" >&2
R1=$(rsync -a --stats "$W/restic/" "$W/restic-copy/" | sed -n 's/^Total bytes sent: \([0-9,.]*\).*/\1/p' | tr -d ,.)
restic backup -q "$W/gen2.bin" >&2
R2=$(rsync -a --stats "$W/restic/" "$W/restic-copy/" | sed -n 's/^Total bytes sent: \([0-9,.]*\).*/\1/p' | tr -d ,.)

ratio() { echo "scale=4; $1 / $2" | bc; }
MIBS=$(echo "scale=1; $LOGICAL / 1048576 / ($t1 - $t0)" | bc)
OUT=$(cat <<EOF
| $SIZE backups, loopback | backstop replication | rsync of a restic repository |
|---|---|---|
| backup 1: wire bytes (per logical byte) | $WIRE1 ($(ratio "$WIRE1" "$LOGICAL")) | $R1 ($(ratio "$R1" "$LOGICAL")) |
| backup 2 (~2% changed): wire bytes (per logical byte) | $WIRE2 ($(ratio "$WIRE2" "$LOGICAL")) | $R2 ($(ratio "$R2" "$LOGICAL")) |
| backup 2: chunk bytes sent as stored | $STORED2 | |
| backup 1: replication throughput | $MIBS MiB/s logical (pass started to caught up, incl. TLS) | |
EOF
)
echo "$OUT"
[ -z "${RESULTS:-}" ] || echo "$OUT" > "$RESULTS"
