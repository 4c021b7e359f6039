#!/usr/bin/env bash
# A small SeaweedFS cluster on loopback, as a real S3-compatible object store for the cloud
# tests: one master, three volume servers, a filer and the S3 gateway.
#
#   seaweedfs.sh build          build weed once into $WEED_CACHE (default ~/.cache/backstop),
#                               print its path. SeaweedFS is on the module proxy only as a
#                               pseudo-version with replace directives, so `go install` is
#                               refused: it is built as the main module from a copy of the
#                               downloaded module (4+ minutes on two cores, ~230 MB binary).
#   seaweedfs.sh start WORKDIR  start a cluster in WORKDIR; prints "S3 127.0.0.1:PORT" and
#                               "VOLUMES pid pid pid" when ready. Stop: seaweedfs.sh stop WORKDIR.
#   seaweedfs.sh stop WORKDIR   kill the cluster's processes (by the pids it recorded).
#
# Every listener binds 127.0.0.1. Credentials are test-only fixed keys (see s3.json below).
set -euo pipefail
VER=v0.0.0-20261109003541-7506e5f91cd6
CACHE=${WEED_CACHE:-$HOME/.cache/backstop}
WEED=$CACHE/weed-$VER

build() {
  if [ -x "$WEED" ]; then echo "$WEED"; return; fi
  mkdir -p "$CACHE"
  go mod download -json "github.com/seaweedfs/seaweedfs@$VER" >/dev/null
  local src; src=$(mktemp -d "$CACHE/weed-src.XXXXXX")
  trap "rm -rf '$src' '$WEED.tmp'" EXIT
  cp -r "$(go env GOMODCACHE)/github.com/seaweedfs/seaweedfs@$VER/." "$src"; chmod -R u+w "$src"
  (cd "$src" && GOFLAGS=-mod=mod go build -o "$WEED.tmp" ./weed)
  mv "$WEED.tmp" "$WEED"; rm -rf "$src"
  echo "$WEED"
}

port() {
  # gRPC ports are the HTTP port + 10000: pick HTTP ports below 55000.
  local p
  while :; do
    p=$(python3 -c "import socket; s=socket.socket(); s.bind(('127.0.0.1',0)); print(s.getsockname()[1])")
    [ "$p" -le 55000 ] && { echo "$p"; return; }
  done
}

start() {
  local W=$1; mkdir -p "$W"; cd "$W"
  [ -x "$WEED" ] || { echo "seaweedfs.sh: $WEED not built: run '$0 build'" >&2; exit 2; }
  cat > s3.json <<'JSON'
{"identities":[
 {"name":"main","credentials":[{"accessKey":"MAINKEY0000000000000","secretKey":"mainsecret000000000000000000000000000000"}],"actions":["Admin","Read","Write","List","Tagging"]}
]}
JSON
  local M F S; M=$(port); F=$(port); S=$(port); : > pids
  mkdir -p m v1 v2 v3 f
  "$WEED" master -ip=127.0.0.1 -ip.bind=127.0.0.1 -port="$M" -mdir=m -volumeSizeLimitMB=64 > master.log 2>&1 & echo $! >> pids
  for _ in $(seq 1 100); do curl -s -o /dev/null "http://127.0.0.1:$M/cluster/status" && break; sleep 0.2; done
  local vols=""
  for i in 1 2 3; do
    local V; V=$(port)
    "$WEED" volume -ip=127.0.0.1 -ip.bind=127.0.0.1 -port="$V" -dir="v$i" -max=30 -mserver="127.0.0.1:$M" > "v$i.log" 2>&1 &
    echo $! >> pids; vols="$vols $!"; echo "$V" > "v$i.port"
  done
  "$WEED" filer -ip=127.0.0.1 -ip.bind=127.0.0.1 -port="$F" -master="127.0.0.1:$M" -defaultStoreDir=f > filer.log 2>&1 & echo $! >> pids
  for _ in $(seq 1 150); do curl -s -o /dev/null "http://127.0.0.1:$F/" && break; sleep 0.2; done
  "$WEED" s3 -ip.bind=127.0.0.1 -port="$S" -filer="127.0.0.1:$F" -config=s3.json > s3.log 2>&1 & echo $! >> pids
  for _ in $(seq 1 150); do curl -s -o /dev/null "http://127.0.0.1:$S/" && break; sleep 0.2; done
  echo "S3 127.0.0.1:$S"
  echo "VOLUMES$vols"
}

stop() {
  local W=$1
  [ -f "$W/pids" ] || return 0
  while read -r p; do kill "$p" 2>/dev/null || true; done < "$W/pids"
  rm -f "$W/pids"
}

case "${1:-}" in
  build) build ;;
  start) start "$2" ;;
  stop) stop "$2" ;;
  *) echo "usage: $0 build | start WORKDIR | stop WORKDIR" >&2; exit 2 ;;
esac
