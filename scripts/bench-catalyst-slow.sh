#!/usr/bin/env bash
# Catalyst put of one file, auto vs s2, from the page cache and through a
# pipe paced at RATE MiB/s; each case on a fresh "backstop serve".
# Usage: run2.sh BACKSTOP FILE [RATE_MIB]
set -euo pipefail
B=$1; F=$2; RATE=${3:-40}
export BACKSTOP_ADMIN_PASSWORD=slow-password BACKSTOP_PASSWORD=slow-password
throttle() { python3 -c '
import sys,time
rate=float(sys.argv[1])*(1<<20); t0=time.time(); n=0
f=open(sys.argv[2],"rb"); o=sys.stdout.buffer
while True:
    b=f.read(256<<10)
    if not b: break
    o.write(b); n+=len(b)
    d=t0+n/rate-time.time()
    if d>0: time.sleep(d)
' "$RATE" "$1"; }
one() { # LABEL paced|file [put flags]
	local label=$1 how=$2; shift 2
	D=$(mktemp -d); cd "$D"
	"$B" serve --data "$D/data" --web 127.0.0.1:0 --catalyst 127.0.0.1:0 --smb "" --iscsi "" --replication "" >"$D/serve.log" 2>&1 &
	S=$!
	A=; for _ in $(seq 100); do A=$(sed -n 's/.*catalyst (client-side dedup, TLS): //p' "$D/serve.log"); [ -n "$A" ] && break; sleep 0.2; done
	[ -n "$A" ] || { cat "$D/serve.log"; exit 1; }
	R=(--server "$A" --ca "$D/data/tls/cert.pem")
	echo "== $label"
	if [ "$how" = paced ]; then throttle "$F" | "$B" put "${R[@]}" "$@" x - 2>/dev/null; else "$B" put "${R[@]}" "$@" x "$F" 2>/dev/null; fi
	kill $S; wait $S || true; cd /; rm -rf "$D"
}
one "page cache, auto" file
one "$RATE MiB/s pipe, auto" paced
one "$RATE MiB/s pipe, --compression s2" paced --compression s2
