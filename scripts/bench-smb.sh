#!/bin/sh
# make bench-smb: write and read MiB/s of one big file through smbclient
# (SMB3) against Backstop (backstop serve --smb, the default share over
# chunkstore) and against Samba's smbd serving a plain directory on the
# same machine, in the same run.
#   scripts/bench-smb.sh [WORKDIR]     SIZE_MIB=4096 by default
# Results (markdown) go to $RESULTS (default WORKDIR/smb.md).
set -eu
cd "$(dirname "$0")/.."
work=${1:-/tmp/backstop-bench-smb}
size=${SIZE_MIB:-4096}
results=${RESULTS:-$work/smb.md}
BACKSTOP=${BACKSTOP:-$PWD/backstop}
pass=bench-smb-pass-1
for t in smbclient smbd; do
	command -v $t >/dev/null || apt-get install -y smbclient samba
done
rm -rf "$work"
mkdir -p "$work"
pids=
trap 'for p in $pids; do kill $p 2>/dev/null; done; wait 2>/dev/null' EXIT

echo "generating $size MiB of random data"
head -c "${size}M" /dev/urandom >"$work/data.bin"

now() { date +%s.%N; }
mibs() { echo "$size $1 $2" | awk '{printf "%.0f", $1 / ($3 - $2)}'; }

# run NAME PORT SHARE USER: put then get, prints "write read" MiB/s.
run() {
	t0=$(now)
	smbclient "//127.0.0.1/$3" -p "$2" -U "$4%$pass" -m SMB3 -c "put $work/data.bin big.bin" >"$work/$1-put.log" 2>&1
	t1=$(now)
	smbclient "//127.0.0.1/$3" -p "$2" -U "$4%$pass" -m SMB3 -c "get big.bin $work/back.bin" >"$work/$1-get.log" 2>&1
	t2=$(now)
	cmp "$work/data.bin" "$work/back.bin" || { echo "$1: the file read back differs"; exit 1; }
	rm -f "$work/back.bin"
	echo "$(mibs "$t0" "$t1") $(mibs "$t1" "$t2")"
}

BACKSTOP_ADMIN_PASSWORD=$pass "$BACKSTOP" serve --data "$work/backstop" --web 127.0.0.1:0 --catalyst off --iscsi "" \
	--smb 127.0.0.1:14490 >"$work/backstop.log" 2>&1 &
pids="$pids $!"
for _ in $(seq 1 40); do grep -q "SMB shares" "$work/backstop.log" && break; sleep 0.5; done
b=$(run backstop 14490 backup admin)

s=$(scripts/smbd.sh "$work/smbd" 14491 "$pass")
pids="$pids $s"
sleep 2
m=$(run smbd 14491 data backup)

{
	echo "# SMB throughput, $size MiB of random data, smbclient -m SMB3, $(date -u +%Y-%m-%dT%H:%MZ)"
	echo
	echo "| server | write MiB/s | read MiB/s |"
	echo "|---|---|---|"
	echo "| Backstop (chunkstore) | ${b% *} | ${b#* } |"
	echo "| Samba smbd (plain directory) | ${m% *} | ${m#* } |"
} | tee "$results"
