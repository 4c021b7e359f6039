#!/bin/bash
# The Linux kernel's NFSv3 client (nfs.ko, nfsv3.ko of Debian's kernel) against a share on this
# machine: boots Debian's kernel under qemu (TCG, user-mode network; the guest reaches host
# loopback as 10.0.2.2) from a busybox initramfs, mounts 10.0.2.2:/<export> with vers=3,
# proto=tcp and port/mountport/mountproto=tcp set (no rpcbind: the kernel's own MOUNT client
# asks the port given; a 20-line static Go program calls mount(2) with the option string, as
# mount.nfs does) and runs what Linux backup jobs do:
#
#   mount, cp -a of a tree (SMALL small files in directories of 50, 3 large ones), tar of it
#   back and compare, dd conv=fsync of a BIG_MB file, dd conv=notrunc random writes, append
#   with >>, rename of a directory, truncate, df, sync, umount, remount and compare every
#   file's checksum with the source.
#
#   scripts/nfs-qemu.sh [backstop|ganesha]...        (default: backstop)
#
# ganesha is the reference: Debian's nfs-ganesha with its VFS backend on a directory of this
# machine (it needs rpcbind to start, which the script runs if none is; the guest still mounts
# with port and mountport given).
#
# MODE=bench instead: the urandom rate of the guest (the ceiling), then dd of a BIG_MB file of
# /dev/urandom with conv=fsync, umount, remount, and dd of it to /dev/null: one
# "BENCH <target> urandom|write|read <MiB/s>" line each (make bench-nfs: 4 GiB). QEMU_TIMEOUT
# bounds each guest (default 1800 s).
#
# Environment: MODE (test | bench, default test), W (work dir, default /tmp/backstop-nfs-qemu), BACKSTOP (binary, default
# ./backstop), SMALL (default 2000), LARGE_MB (each of 3 large files, default 4), BIG_MB (the
# dd conv=fsync file, default 64), STEP_TIMEOUT (seconds a step may take, default 120).
# Writes W/<target>/guest.log and W/<target>/summary.txt (one "STEP <target> v3 <step>
# PASS|FAIL|TIMEOUT <seconds>" line each); prints "HOST: <target> RESULT OK" per target and
# exits non-zero when a step failed.
set -euo pipefail
W=${W:-/tmp/backstop-nfs-qemu}
BACKSTOP=${BACKSTOP:-$PWD/backstop}
SMALL=${SMALL:-2000}
LARGE_MB=${LARGE_MB:-4}
BIG_MB=${BIG_MB:-64}
STEP_TIMEOUT=${STEP_TIMEOUT:-120}
MODE=${MODE:-test}
QEMU_TIMEOUT=${QEMU_TIMEOUT:-1800}
[ "$MODE" = bench ] && SMALL=0 LARGE_MB=0
TARGETS=${*:-backstop}
PASS=nfs-qemu-harness-1
mkdir -p "$W"
cd "$W"

# ---------- 1. Debian packages and the Debian kernel (idempotent) ----------
need=""
for c in qemu-system-x86_64:qemu-system-x86 cpio:cpio depmod:kmod curl:curl; do
  command -v "${c%%:*}" >/dev/null || need="$need ${c#*:}"
done
[ -x /bin/busybox ] || need="$need busybox-static"
case " $TARGETS " in *" ganesha "*)
  command -v ganesha.nfsd >/dev/null || need="$need nfs-ganesha nfs-ganesha-vfs"
  command -v rpcbind >/dev/null || need="$need rpcbind" ;;
esac
if [ -n "$need" ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $need >/dev/null
fi
KPKG=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-6/{print $2}' | head -1)
KVER=${KPKG#linux-image-}
if [ ! -f kpkg/boot/vmlinuz-$KVER ]; then
  apt-get download "$KPKG" 2>/dev/null
  rm -rf kpkg; dpkg -x ${KPKG}_*.deb kpkg; rm -f ${KPKG}_*.deb
fi
[ -f kpkg/lib/modules/$KVER/modules.dep ] || depmod -b kpkg $KVER

# ---------- 2. the initramfs: busybox, nfs modules, nfsmount, the source tree ----------
R=$W/initrd-root
rm -rf $R; mkdir -p $R/{bin,sbin,usr/bin,usr/sbin,lib/modules,proc,sys,dev,run,tmp,mnt}
mkdir -p $R/src/small $R/src/large
python3 - "$R/src" "$SMALL" "$LARGE_MB" <<'PY'
import os, random, sys
root, small, large = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rnd = random.Random(20)
for i in range(small):                      # 50 files a directory, 0..8 KiB
    d = os.path.join(root, "small", "d%03d" % (i // 50))
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "f%05d.txt" % i), "wb") as f:
        f.write(rnd.randbytes(rnd.randrange(0, 8192)))
for n in ("a", "b", "c"):
    with open(os.path.join(root, "large", n + ".bin"), "wb") as f:
        f.write(rnd.randbytes(large << 20))
PY
for m in nfsv3 virtio_net virtio_pci; do
  modprobe -d kpkg -S $KVER --show-depends $m | awk '$1=="insmod"{print $2}'
done | awk '!seen[$0]++' > $W/modules.list
while read f; do cp $f $R/lib/modules/; basename $f .ko; done < $W/modules.list > $R/modules.order
cp /bin/busybox $R/bin/busybox
for a in $($R/bin/busybox --list); do
  for d in bin sbin usr/bin usr/sbin; do [ -e $R/$d/$a ] && continue 2; done
  ln -s /bin/busybox $R/bin/$a
done
# nfsmount SOURCE DIR OPTIONS: mount(2) with the text options, what mount.nfs does once it has
# resolved the server (busybox's NFS mount would speak to rpcbind).
mkdir -p $W/nfsmount
cat > $W/nfsmount/main.go <<'GO'
package main

import (
	"fmt"
	"os"
	"syscall"
)

func main() {
	if len(os.Args) != 4 {
		fmt.Fprintln(os.Stderr, "usage: nfsmount HOST:/PATH DIR OPTIONS")
		os.Exit(2)
	}
	if err := syscall.Mount(os.Args[1], os.Args[2], "nfs", 0, os.Args[3]); err != nil {
		fmt.Fprintln(os.Stderr, "nfsmount:", err)
		os.Exit(1)
	}
}
GO
printf 'module nfsmount\n\ngo 1.22\n' > $W/nfsmount/go.mod
(cd $W/nfsmount && CGO_ENABLED=0 GOFLAGS= go build -o $R/bin/nfsmount .)

cat > $R/init <<'INIT'
#!/bin/sh
export PATH=/sbin:/bin:/usr/sbin:/usr/bin
mount -t proc proc /proc; mount -t sysfs sysfs /sys; mount -t devtmpfs devtmpfs /dev
arg() { tr ' ' '\n' < /proc/cmdline | sed -n "s/^bs\.$1=//p"; }
PORT=$(arg port); MPORT=$(arg mport); EXPORT=$(arg export); TARGET=$(arg target); TMO=$(arg timeout); BIG=$(arg big); MODE=$(arg mode)
echo "GUEST: kernel $(uname -r) up at $(cut -d' ' -f1 /proc/uptime)s"
for m in $(cat /modules.order); do insmod /lib/modules/$m.ko 2>/dev/null || echo "GUEST: insmod $m failed"; done
for i in $(seq 1 20); do [ -e /sys/class/net/eth0 ] && break; sleep 0.2; done
ip link set lo up; ip link set eth0 up
ip addr add 10.0.2.15/24 dev eth0; ip route add default via 10.0.2.2

FAILED=0
D=v3
now() { cut -d' ' -f1 /proc/uptime; }
step() {
  name=$1; shift
  t0=$(now)
  ( "$@" ) > /tmp/step.out 2>&1 &
  pid=$!
  i=0; res=""
  while kill -0 $pid 2>/dev/null; do
    sleep 0.2; i=$((i + 1))
    if [ $i -ge $((TMO * 5)) ]; then kill -9 $pid 2>/dev/null; res=TIMEOUT; break; fi
  done
  if [ -z "$res" ]; then if wait $pid; then res=PASS; else res=FAIL; fi; fi
  t1=$(now)
  echo "STEP $TARGET $D $name $res $(awk "BEGIN{printf \"%.1f\", $t1 - $t0}")"
  [ $res = PASS ] || { FAILED=$((FAILED + 1)); tail -5 /tmp/step.out | sed 's/^/GUEST:   /'; }
  [ $res = PASS ]
}
sums() { (cd "$1" && find . -type f | sort | xargs sha256sum); }
domount() {
  nfsmount "10.0.2.2:$EXPORT" /mnt \
    "vers=3,proto=tcp,port=$PORT,mountport=$MPORT,mountproto=tcp,nolock,addr=10.0.2.2,mountaddr=10.0.2.2"
}
T=tree
s_copy()     { cp -a /src /mnt/$T; }
s_tar()      { rm -rf /tmp/back; mkdir /tmp/back; tar -C /mnt/$T -cf - . | tar -C /tmp/back -xf - \
               && sums /src > /tmp/a && sums /tmp/back > /tmp/b && cmp /tmp/a /tmp/b; rm -rf /tmp/back; }
s_ddfsync()  { dd if=/dev/urandom of=/ref/big.bin bs=1M count=$BIG 2>/dev/null \
               && dd if=/ref/big.bin of=/mnt/$T/big.bin bs=1M conv=fsync 2>/dev/null; }
s_dd()       { for off in 3 700 1999 4000; do
                 dd if=/dev/urandom of=/tmp/patch bs=4096 count=1 2>/dev/null
                 dd if=/tmp/patch of=/mnt/$T/large/b.bin bs=4096 seek=$off conv=notrunc 2>/dev/null || return 1
                 dd if=/tmp/patch of=/ref/large/b.bin bs=4096 seek=$off conv=notrunc 2>/dev/null
               done; }
s_append()   { echo "appended line" >> /mnt/$T/small/d000/f00000.txt && echo "appended line" >> /ref/small/d000/f00000.txt \
               && cmp /mnt/$T/small/d000/f00000.txt /ref/small/d000/f00000.txt; }
s_rename()   { mv /mnt/$T/small/d001 /mnt/$T/small/renamed && mv /ref/small/d001 /ref/small/renamed \
               && [ -f /mnt/$T/small/renamed/f00050.txt ] && [ ! -e /mnt/$T/small/d001 ]; }
s_truncate() { truncate -s 1234567 /mnt/$T/large/c.bin && truncate -s 1234567 /ref/large/c.bin \
               && [ $(stat -c %s /mnt/$T/large/c.bin) = 1234567 ]; }
s_df()       { df /mnt | tail -1 | awk '{exit !($2 > 0)}'; }
s_sync()     { sync; }
s_umount()   { umount /mnt; }
s_remount()  { domount && sums /ref > /tmp/a && sums /mnt/$T > /tmp/b && cmp /tmp/a /tmp/b; }

# rate LABEL MIB SECONDS: a BENCH line
rate() { echo "BENCH $TARGET $1 $(awk "BEGIN{printf \"%.1f\", $2 / ($4 - $3)}") MiB/s"; }
if [ "$MODE" = bench ]; then
  t0=$(now); dd if=/dev/urandom of=/dev/null bs=1M count=$BIG 2>/dev/null; rate urandom $BIG $t0 $(now)
  if step mount domount; then
    t0=$(now); step dd-write dd if=/dev/urandom of=/mnt/bench.bin bs=1M count=$BIG conv=fsync && rate write $BIG $t0 $(now)
    step umount s_umount
    step mount domount
    t0=$(now); step dd-read dd if=/mnt/bench.bin of=/dev/null bs=1M && rate read $BIG $t0 $(now)
    step final-umount s_umount
  fi
  echo "GUEST: complete with $FAILED failed steps"
  poweroff -f
fi
rm -rf /ref; cp -a /src /ref
if step mount domount; then
  step cp-a s_copy
  step tar-back s_tar
  step dd-fsync s_ddfsync
  step dd-notrunc s_dd
  step append s_append
  step rename-dir s_rename
  step truncate s_truncate
  step df s_df
  step sync s_sync
  step umount s_umount
  step remount-compare s_remount || true
  step final-umount s_umount || umount -f /mnt 2>/dev/null || umount -l /mnt 2>/dev/null
else
  echo "GUEST: $(dmesg | grep -i -E 'nfs|rpc' | tail -5)"
fi
echo "GUEST: complete with $FAILED failed steps"
poweroff -f
INIT
chmod +x $R/init
(cd $R && find . | cpio -o -H newc --quiet | gzip -1) > $W/initrd.cpio.gz

# ---------- 3. servers ----------
PORT=${PORT:-$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}
SPID=""
start_backstop() {
  [ -x "$BACKSTOP" ] || { echo "HOST: no backstop binary at $BACKSTOP (make build)"; exit 1; }
  rm -rf $W/backstop/data
  BACKSTOP_ADMIN_PASSWORD=$PASS "$BACKSTOP" serve --data $W/backstop/data --web 127.0.0.1:0 --catalyst off --iscsi "" \
    --replication "" --smb "" --nfs 127.0.0.1:$PORT > $W/backstop/serve.log 2>&1 &
  SPID=$!
  for i in $(seq 1 300); do grep -q 'NFS exports' $W/backstop/serve.log 2>/dev/null && break; sleep 0.1; done
  grep -q 'NFS exports' $W/backstop/serve.log || { echo "HOST: backstop serve did not start:"; cat $W/backstop/serve.log; exit 1; }
  # Export the share backup to the guest (user-mode networking: it comes from 127.0.0.1).
  local web tok
  web=$(sed -n 's|^ *web UI and REST API: \(https://127[^ ]*\)$|\1|p' $W/backstop/serve.log | head -1)
  tok=$(curl -sk -X POST "${web%/}/api/v1/sessions" -d "{\"username\":\"admin\",\"password\":\"$PASS\"}" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
  curl -skf -X PATCH -H "Authorization: Bearer $tok" "${web%/}/api/v1/shares/backup" \
    -d '{"nfs":{"enabled":true,"clients":["127.0.0.0/8"]}}' > /dev/null
  EXPORT=/backup MPORT=$PORT
}
RPCBIND=""
start_ganesha() {
  pgrep -x rpcbind >/dev/null || { rpcbind -f -w & RPCBIND=$!; sleep 1; }
  rm -rf $W/ganesha/srv; mkdir -p $W/ganesha/srv
  MPORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  cat > $W/ganesha/ganesha.conf <<CONF
NFS_CORE_PARAM { NFS_Port = $PORT; MNT_Port = $MPORT; Protocols = 3; Enable_NLM = false; Enable_RQUOTA = false;
  Bind_addr = 127.0.0.1; }
NFS_KRB5 { Active_krb5 = false; }
EXPORT { Export_Id = 1; Path = $W/ganesha/srv; Pseudo = /srv; Access_Type = RW; Squash = No_Root_Squash;
  Protocols = 3; Transports = TCP; SecType = sys; FSAL { Name = VFS; } }
CONF
  ganesha.nfsd -F -f $W/ganesha/ganesha.conf -L $W/ganesha/ganesha.log -p $W/ganesha/ganesha.pid -N NIV_EVENT &
  SPID=$!
  for i in $(seq 1 100); do ss -ltn | grep -q ":$MPORT " && break; sleep 0.1; done
  ss -ltn | grep -q ":$MPORT " || { echo "HOST: ganesha did not start:"; tail $W/ganesha/ganesha.log; exit 1; }
  EXPORT=$W/ganesha/srv
}
cleanup() {
  [ -n "$SPID" ] && kill $SPID 2>/dev/null || true
  [ -n "$RPCBIND" ] && kill $RPCBIND 2>/dev/null || true
}
trap cleanup EXIT

# ---------- 4. boot the guest against each server ----------
FAILED=0
for T in $TARGETS; do
  mkdir -p $W/$T
  start_$T
  echo "HOST: ---- $T (NFSv3 over TCP, port $PORT, mountport $MPORT) ----"
  T0=$(date +%s.%N)
  timeout $QEMU_TIMEOUT qemu-system-x86_64 -accel tcg -m 1024 -smp 1 -nographic \
    -kernel kpkg/boot/vmlinuz-$KVER -initrd $W/initrd.cpio.gz \
    -append "console=ttyS0 quiet panic=-1 bs.port=$PORT bs.mport=$MPORT bs.export=$EXPORT bs.target=$T bs.timeout=$STEP_TIMEOUT bs.big=$BIG_MB bs.mode=$MODE" \
    -netdev user,id=n0 -device virtio-net-pci,netdev=n0,romfile= -no-reboot > $W/$T/guest.log 2>&1 || true
  T1=$(date +%s.%N)
  kill $SPID 2>/dev/null || true; wait $SPID 2>/dev/null || true; SPID=""
  { tr -d '\r' < $W/$T/guest.log | grep -a -o -E '(STEP|GUEST:|BENCH) .*'; } > $W/$T/summary.txt || true
  echo "HOST: qemu wall time $(echo "$T1 - $T0" | bc) s" >> $W/$T/summary.txt
  cat $W/$T/summary.txt
  if grep -q '^STEP .* \(FAIL\|TIMEOUT\) ' $W/$T/summary.txt || ! grep -q '^GUEST: complete with 0 failed steps' $W/$T/summary.txt; then
    echo "HOST: $T RESULT FAIL (guest log: $W/$T/guest.log)"; FAILED=1
  else
    echo "HOST: $T RESULT OK"
  fi
done
exit $FAILED
