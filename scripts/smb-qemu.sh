#!/bin/bash
# The Linux kernel's SMB client (cifs.ko) against a share on this machine: boots Debian's kernel
# under qemu (TCG, user-mode network; the guest reaches host loopback as 10.0.2.2) from a busybox
# initramfs holding cifs.ko, mounts //10.0.2.2/<share> with busybox mount (no mount.cifs: the
# option string goes to the kernel as is) and runs what Linux backup jobs do, per dialect:
#
#   mount, cp -a of a tree (SMALL small files and a few large ones), tar of it back and compare,
#   dd conv=notrunc random writes, rename of a directory, truncate, df, sync, umount, remount and
#   compare every file's checksum with the source (the "core" steps); then (STEPS=all) append
#   with >>, create a file and stat it, stat a file while holding it open for writing, stat
#   every file, umount.
#
#   scripts/smb-qemu.sh [backstop|smbd]...        (default: backstop)
#
# Environment: W (work dir, default /tmp/backstop-smb-qemu), BACKSTOP (binary, default
# ./backstop), DIALECTS (default "3.1.1,seal 3.0 2.1"), STEPS (core | all, default all), SMALL
# (number of small files, default 1000), LARGE_MB (size of each of the 3 large files, default 4),
# STEP_TIMEOUT (seconds a step may take before it is killed and marked TIMEOUT, default 60).
# Writes W/<target>/guest.log and W/<target>/summary.txt (one "STEP <target> <dialect> <step>
# PASS|FAIL|TIMEOUT <seconds>" line each); prints "HOST: <target> RESULT OK" per target and
# exits non-zero when a step failed.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
W=${W:-/tmp/backstop-smb-qemu}
BACKSTOP=${BACKSTOP:-$PWD/backstop}
DIALECTS=${DIALECTS:-3.1.1,seal 3.0 2.1}
STEPS=${STEPS:-all}
SMALL=${SMALL:-1000}
LARGE_MB=${LARGE_MB:-4}
STEP_TIMEOUT=${STEP_TIMEOUT:-60}
TARGETS=${*:-backstop}
PASS=smb-qemu-harness-1
mkdir -p "$W"
cd "$W"

# ---------- 1. Debian packages and the Debian kernel (idempotent) ----------
need=""
for c in qemu-system-x86_64:qemu-system-x86 cpio:cpio depmod:kmod; do
  command -v "${c%%:*}" >/dev/null || need="$need ${c#*:}"
done
[ -x /bin/busybox ] || need="$need busybox-static"
case " $TARGETS " in *" smbd "*) command -v smbd >/dev/null || need="$need samba" ;; esac
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

# ---------- 2. the source tree, inside the initramfs ----------
R=$W/initrd-root
rm -rf $R; mkdir -p $R/{bin,sbin,usr/bin,usr/sbin,lib/modules,proc,sys,dev,run,tmp,mnt}
mkdir -p $R/src/small $R/src/large
python3 - "$R/src" "$SMALL" "$LARGE_MB" <<'PY'
import os, random, sys
root, small, large = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rnd = random.Random(15)
for i in range(small):                      # 50 files a directory, 0..8 KiB
    d = os.path.join(root, "small", "d%03d" % (i // 50))
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "f%05d.txt" % i), "wb") as f:
        f.write(rnd.randbytes(rnd.randrange(0, 8192)))
for n in ("a", "b", "c"):
    with open(os.path.join(root, "large", n + ".bin"), "wb") as f:
        f.write(rnd.randbytes(large << 20))
PY
# cifs.ko, its dependencies, and what it asks for by soft dependency (the crypto of signing and
# sealing: cmac, sha512, ccm, gcm), plus the virtio network card.
for m in cifs cmac sha512_generic ccm gcm ctr ghash_generic ecb nls_utf8 virtio_net virtio_pci; do
  modprobe -d kpkg -S $KVER --show-depends $m | awk '$1=="insmod"{print $2}'
done | awk '!seen[$0]++' > $W/modules.list
while read f; do cp $f $R/lib/modules/; basename $f .ko; done < $W/modules.list > $R/modules.order
cp /bin/busybox $R/bin/busybox
for a in $($R/bin/busybox --list); do
  for d in bin sbin usr/bin usr/sbin; do [ -e $R/$d/$a ] && continue 2; done
  ln -s /bin/busybox $R/bin/$a
done

cat > $R/init <<'INIT'
#!/bin/sh
export PATH=/sbin:/bin:/usr/sbin:/usr/bin
mount -t proc proc /proc; mount -t sysfs sysfs /sys; mount -t devtmpfs devtmpfs /dev
arg() { tr ' ' '\n' < /proc/cmdline | sed -n "s/^bs\.$1=//p"; }
PORT=$(arg port); SHARE=$(arg share); USER=$(arg user); PASS=$(arg pass); TARGET=$(arg target)
STEPS=$(arg steps); TMO=$(arg timeout); DIALECTS=$(arg dialects | tr '+' ' ')
echo "GUEST: kernel $(uname -r) up at $(cut -d' ' -f1 /proc/uptime)s"
for m in $(cat /modules.order); do insmod /lib/modules/$m.ko 2>/dev/null || echo "GUEST: insmod $m failed"; done
for i in $(seq 1 20); do [ -e /sys/class/net/eth0 ] && break; sleep 0.2; done
ip link set lo up; ip link set eth0 up
ip addr add 10.0.2.15/24 dev eth0; ip route add default via 10.0.2.2

FAILED=0
now() { cut -d' ' -f1 /proc/uptime; }
# step NAME CMD...: runs CMD in the background, kills it after TMO seconds.
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
  mount -t cifs "//10.0.2.2/$SHARE" /mnt \
    -o "ip=10.0.2.2,unc=\\\\10.0.2.2\\$SHARE,port=$PORT,username=$USER,password=$PASS,vers=$D,cache=strict,actimeo=1"
}
s_copy()     { cp -a /src /mnt/$T; }
s_tar()      { rm -rf /tmp/back; mkdir /tmp/back; tar -C /mnt/$T -cf - . | tar -C /tmp/back -xf - \
               && sums /src > /tmp/a && sums /tmp/back > /tmp/b && cmp /tmp/a /tmp/b; rm -rf /tmp/back; }
s_dd()       { for off in 3 700 1999 4000; do
                 dd if=/dev/urandom of=/tmp/patch bs=4096 count=1 2>/dev/null
                 dd if=/tmp/patch of=/mnt/$T/large/b.bin bs=4096 seek=$off conv=notrunc 2>/dev/null || return 1
                 dd if=/tmp/patch of=/ref/large/b.bin bs=4096 seek=$off conv=notrunc 2>/dev/null
               done; }
s_rename()   { mv /mnt/$T/small/d001 /mnt/$T/small/renamed && mv /ref/small/d001 /ref/small/renamed \
               && [ -f /mnt/$T/small/renamed/f00050.txt ] && [ ! -e /mnt/$T/small/d001 ]; }
s_truncate() { truncate -s 1234567 /mnt/$T/large/c.bin && truncate -s 1234567 /ref/large/c.bin \
               && [ $(stat -c %s /mnt/$T/large/c.bin) = 1234567 ]; }
s_df()       { df /mnt | tail -1 | awk '{exit !($2 > 0)}'; }
s_sync()     { sync; }
s_umount()   { umount /mnt; }
s_remount()  { domount && sums /ref > /tmp/a && sums /mnt/$T > /tmp/b && cmp /tmp/a /tmp/b; }
s_append()   { echo "appended line" >> /mnt/$T/small/d000/f00000.txt && echo "appended line" >> /ref/small/d000/f00000.txt \
               && cmp /mnt/$T/small/d000/f00000.txt /ref/small/d000/f00000.txt; }
s_createstat() { echo new > /mnt/$T/new.txt && stat /mnt/$T/new.txt > /dev/null; }
# stat while this process still holds the file open (written: a batch oplock on it)
s_openstat() { exec 3> /mnt/$T/held.txt; echo held >&3; stat /mnt/$T/held.txt > /dev/null; r=$?; exec 3>&-; return $r; }
s_statall()  { find /mnt/$T | xargs stat > /dev/null; }

for D in $DIALECTS; do
  T=tree-$(echo $D | tr ',.' '__')
  rm -rf /ref; cp -a /src /ref
  step mount domount || { echo "GUEST: $(dmesg | grep -i cifs | tail -3)"; continue; }
  step cp-a s_copy
  step tar-back s_tar
  step dd-notrunc s_dd
  step rename-dir s_rename
  step truncate s_truncate
  step df s_df
  step sync s_sync
  step umount s_umount
  step remount-compare s_remount || true
  if [ "$STEPS" = all ]; then
    step append s_append
    step create-stat s_createstat
    step open-stat s_openstat
    step stat-all s_statall
  fi
  step final-umount s_umount || umount -f /mnt 2>/dev/null || umount -l /mnt 2>/dev/null
done
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
    --replication "" --smb 127.0.0.1:$PORT > $W/backstop/serve.log 2>&1 &
  SPID=$!
  for i in $(seq 1 300); do grep -q 'SMB shares' $W/backstop/serve.log 2>/dev/null && break; sleep 0.1; done
  grep -q 'SMB shares' $W/backstop/serve.log || { echo "HOST: backstop serve did not start:"; cat $W/backstop/serve.log; exit 1; }
  SHARE=backup SUSER=admin
}
start_smbd() {
  rm -rf $W/smbd/srv
  # In a session of its own: smbd signals its whole process group when it is stopped.
  SPID=$(setsid "$HERE/smbd.sh" $W/smbd/srv $PORT $PASS)
  sleep 2
  SHARE=data SUSER=backup
}
cleanup() { [ -n "$SPID" ] && kill $SPID 2>/dev/null || true; }
trap cleanup EXIT

# ---------- 4. boot the guest against each server ----------
FAILED=0
for T in $TARGETS; do
  mkdir -p $W/$T
  echo "HOST: ---- $T (dialects: $DIALECTS; steps: $STEPS) ----"
  start_$T
  T0=$(date +%s.%N)
  timeout 1200 qemu-system-x86_64 -accel tcg -m 1024 -smp 1 -nographic \
    -kernel kpkg/boot/vmlinuz-$KVER -initrd $W/initrd.cpio.gz \
    -append "console=ttyS0 quiet panic=-1 bs.port=$PORT bs.share=$SHARE bs.user=$SUSER bs.pass=$PASS bs.target=$T bs.steps=$STEPS bs.timeout=$STEP_TIMEOUT bs.dialects=$(echo $DIALECTS | tr ' ' '+')" \
    -netdev user,id=n0 -device virtio-net-pci,netdev=n0,romfile= -no-reboot > $W/$T/guest.log 2>&1 || true
  T1=$(date +%s.%N)
  kill $SPID 2>/dev/null || true; wait $SPID 2>/dev/null || true; SPID=""
  { tr -d '\r' < $W/$T/guest.log | grep -a -o -E '(STEP|GUEST:) .*'; } > $W/$T/summary.txt || true
  echo "HOST: qemu wall time $(echo "$T1 - $T0" | bc) s" >> $W/$T/summary.txt
  cat $W/$T/summary.txt
  if grep -q '^STEP .* \(FAIL\|TIMEOUT\) ' $W/$T/summary.txt || ! grep -q '^GUEST: complete with 0 failed steps' $W/$T/summary.txt; then
    echo "HOST: $T RESULT FAIL (guest log: $W/$T/guest.log)"; FAILED=1
  else
    echo "HOST: $T RESULT OK"
  fi
done
exit $FAILED
