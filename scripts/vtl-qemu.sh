#!/bin/bash
# The real Linux iSCSI initiator against a VTL: boots a Debian kernel under qemu (TCG, user-mode
# network) whose iscsi_tcp, st, sg and ch drivers, mt, mtx and GNU tar talk to a target on this
# machine's loopback (the guest reaches it as 10.0.2.2). The same guest script runs against
# Backstop and, for comparison, against tgt's reference VTL.
#
#   scripts/vtl-qemu.sh [backstop|tgt]...      (default: backstop)
#
# MODE=btape (Backstop only) runs Bacula's btape "test" (4 KiB blocks, so that its 2 x 10000
# blocks stay small) and "fill" (64 KiB blocks; its read-back wants 10000 records, about
# 330 MB, on the tape) on a library with BTAPE_MB (default 400) MiB cartridges made through
# the REST API.
# Environment: W (work dir, default /tmp/backstop-vtl-qemu), BACKSTOP (binary, default ./backstop),
# DATA_MB (size of the backup data, default 200), MODE (test | bench: dd throughput only, after
# tools/vtlbench's Go initiator wrote and read BENCH_MB, default 256, from the host).
# Writes W/<target>/guest.log and W/<target>/summary.txt; prints "HOST: <target> RESULT OK"
# per target and exits non-zero when a check failed.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
W=${W:-/tmp/backstop-vtl-qemu}
BACKSTOP=${BACKSTOP:-$PWD/backstop}
DATA_MB=${DATA_MB:-200}
MODE=${MODE:-test}
TARGETS=${*:-backstop}
mkdir -p "$W"
cd "$W"

# ---------- 1. Debian packages and the Debian kernel (idempotent) ----------
need=""
for c in qemu-system-x86_64:qemu-system-x86 tgtd:tgt busybox:busybox-static iscsiadm:open-iscsi mt:mt-st \
         mtx:mtx sg_inq:sg3-utils cpio:cpio depmod:kmod mke2fs:e2fsprogs curl:curl; do
  command -v "${c%%:*}" >/dev/null || need="$need ${c#*:}"
done
[ -x /bin/busybox ] || need="$need busybox-static"
[ $MODE = btape ] && { [ -x /usr/sbin/btape ] || need="$need bacula-sd"; }
if [ -n "$need" ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends qemu-utils $need >/dev/null
fi
KPKG=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-6/{print $2}' | head -1)
KVER=${KPKG#linux-image-}
if [ ! -f kpkg/boot/vmlinuz-$KVER ]; then
  (cd "$W" && apt-get download "$KPKG" 2>/dev/null)
  rm -rf kpkg; dpkg -x ${KPKG}_*.deb kpkg; rm -f ${KPKG}_*.deb
fi
[ -f kpkg/lib/modules/$KVER/modules.dep ] || depmod -b kpkg $KVER

# ---------- 2. the backup data: an ext4 image the guest mounts read-only ----------
if [ ! -f data-$DATA_MB.img ]; then
  rm -rf data; mkdir -p data/set1 data/set2 data/set3
  per=$(( DATA_MB / 9 ))                       # three sets of three random files
  for s in 1 2 3; do
    for f in a b c; do head -c $(( per * 1048576 + s * 4099 )) /dev/urandom > data/set$s/$f.bin; done
    seq 1 20000 | sed "s/^/set $s line /" > data/set$s/notes.txt
  done
  rm -f data-*.img
  mke2fs -q -t ext4 -L data -d data data-$DATA_MB.img $(( DATA_MB + DATA_MB / 5 + 16 ))M
  rm -rf data
fi

# ---------- 3. initramfs with the guest script ----------
R=$W/initrd-root
rm -rf $R; mkdir -p $R/{bin,sbin,usr/bin,usr/sbin,lib/modules,lib64,etc/iscsi,proc,sys,dev,run,tmp,data}
for m in iscsi_tcp st sg ch crc32c_generic virtio_net virtio_pci virtio_blk ext4; do
  modprobe -d kpkg -S $KVER --show-depends $m | awk '$1=="insmod"{print $2}'
done | awk '!seen[$0]++' > $W/modules.list
while read f; do cp $f $R/lib/modules/; basename $f; done < $W/modules.list > $R/modules.order
copy_bin() {
  local src=$(readlink -f $1) dst=$2
  cp $src $R$dst
  ldd $src | grep -o '/[^ ]*' | while read l; do mkdir -p $R$(dirname $l); cp -L $l $R$l; done
}
copy_bin /usr/sbin/iscsid   /usr/sbin/iscsid
copy_bin /usr/sbin/iscsiadm /usr/sbin/iscsiadm
copy_bin /usr/bin/mt        /usr/bin/mt
copy_bin /usr/sbin/mtx      /usr/sbin/mtx
copy_bin /usr/bin/sg_inq    /usr/bin/sg_inq
copy_bin /usr/bin/tar       /bin/tar
copy_bin /bin/dd            /bin/gnudd
if [ $MODE = btape ]; then
  copy_bin /usr/sbin/btape /usr/sbin/btape
  mkdir -p $R/etc/bacula $R/tmp/bacula
  cat > $R/etc/bacula/bacula-sd.conf <<'CONF'
Storage {
  Name = qemu-guest-sd
  WorkingDirectory = /tmp/bacula
  Pid Directory = /tmp/bacula
}
Director {
  Name = qemu-guest-dir
  Password = "unused"
}
Device {
  Name = Drive-test
  Media Type = LTO
  Archive Device = /dev/nst0
  Device Type = Tape
  AutomaticMount = yes
  AlwaysOpen = yes
  RemovableMedia = yes
  RandomAccess = no
  Maximum File Size = 32MB
  Minimum Block Size = 4096
  Maximum Block Size = 4096
}
Device {
  Name = Drive-fill
  Media Type = LTO
  Archive Device = /dev/nst0
  Device Type = Tape
  AutomaticMount = yes
  AlwaysOpen = yes
  RemovableMedia = yes
  RandomAccess = no
  Maximum File Size = 64MB
}
Messages {
  Name = Standard
  console = all, !skipped, !saved
}
CONF
fi
cp /bin/busybox $R/bin/busybox
for a in $($R/bin/busybox --list); do
  for d in bin sbin usr/bin usr/sbin; do [ -e $R/$d/$a ] && continue 2; done
  ln -s /bin/busybox $R/bin/$a
done
echo 'InitiatorName=iqn.2026-11.org.backstop:qemu-guest' > $R/etc/iscsi/initiatorname.iscsi
echo 'root:x:0:0:root:/root:/bin/sh' > $R/etc/passwd
echo 'root:x:0:' > $R/etc/group
printf 'passwd: files\ngroup: files\n' > $R/etc/nsswitch.conf
cat > $R/etc/iscsi/iscsid.conf <<'CONF'
iscsid.startup = /bin/true
node.startup = manual
node.session.scan = auto
node.conn[0].timeo.login_timeout = 15
node.session.initial_login_retry_max = 4
node.session.timeo.replacement_timeout = 30
CONF
cp "$HERE/vtl-guest.sh" $R/init
chmod +x $R/init
(cd $R && find . | cpio -o -H newc --quiet | gzip -1) > $W/initrd.cpio.gz

if [ $MODE = bench ] && [ -z "${VTLBENCH:-}" ]; then
  VTLBENCH=$W/vtlbench
  (cd "$HERE/.." && go build -o $VTLBENCH ./tools/vtlbench)
fi

# ---------- 4. targets ----------
# A free port of this machine: other test runs may hold any fixed one.
PORT=${PORT:-$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}
CP=$(( PORT % 1000 + 100 ))   # tgtd control port: its socket is /var/run/tgtd/socket.$CP
start_tgt() {
  V=$W/tgt-media; rm -rf $V; mkdir -p $V
  for b in BKS001L6 BKS002L6 BKS003L6; do
    tgtimg --op new --device-type tape --barcode $b --size $(( DATA_MB * 2 + 200 )) --type data --file $V/$b >/dev/null
  done
  dd if=/dev/zero of=$V/smc bs=1k count=1 2>/dev/null
  tgtd -f -C $CP --iscsi portal=127.0.0.1:$PORT > $W/tgt/tgtd.log 2>&1 &
  TPID=$!
  sleep 1
  if grep -q 'unable to bind' $W/tgt/tgtd.log; then echo "HOST: tgtd cannot bind 127.0.0.1:$PORT"; exit 1; fi
  A="tgtadm -C $CP --lld iscsi"
  $A --op new --mode target --tid 1 -T iqn.2026-11.org.backstop.test:tgt-vtl
  $A --op new --mode logicalunit --tid 1 --lun 1 --device-type tape --bstype ssc -b $V/BKS001L6
  $A --op new --mode logicalunit --tid 1 --lun 2 --device-type changer -b $V/smc
  $A --op update --mode logicalunit --tid 1 --lun 2 --params media_home=$V
  $A --op update --mode logicalunit --tid 1 --lun 2 --params element_type=4,start_address=1,quantity=1
  $A --op update --mode logicalunit --tid 1 --lun 2 --params element_type=4,address=1,tid=1,lun=1
  $A --op update --mode logicalunit --tid 1 --lun 2 --params element_type=1,start_address=2,quantity=1
  $A --op update --mode logicalunit --tid 1 --lun 2 --params element_type=2,start_address=3,quantity=4
  $A --op update --mode logicalunit --tid 1 --lun 2 --params element_type=2,address=3,barcode=BKS002L6,sides=1
  $A --op update --mode logicalunit --tid 1 --lun 2 --params element_type=2,address=4,barcode=BKS003L6,sides=1
  $A --op bind --mode target --tid 1 -I ALL
}
stop_tgt() {
  tgtadm -C $CP --lld iscsi --op delete --mode target --tid 1 --force 2>/dev/null || true
  tgtadm -C $CP --op delete --mode system 2>/dev/null || true
  for i in 1 2 3 4 5; do kill -0 $TPID 2>/dev/null || break; sleep 0.5; done
  kill -9 $TPID 2>/dev/null || true
}
start_backstop() {
  [ -x "$BACKSTOP" ] || { echo "HOST: no backstop binary at $BACKSTOP (make build)"; exit 1; }
  rm -rf $W/backstop/data
  BACKSTOP_ADMIN_PASSWORD=vtl-qemu-harness "$BACKSTOP" serve --data $W/backstop/data --web 127.0.0.1:0 --catalyst off --smb "" \
    --iscsi 127.0.0.1:$PORT > $W/backstop/serve.log 2>&1 &
  TPID=$!
  for i in $(seq 1 300); do grep -q 'iSCSI virtual tape' $W/backstop/serve.log 2>/dev/null && break; sleep 0.1; done
  grep -q 'iSCSI virtual tape' $W/backstop/serve.log || { echo "HOST: backstop serve did not start:"; cat $W/backstop/serve.log; exit 1; }
  if [ $MODE = btape ]; then   # a library with small cartridges, so that btape's fill reaches the end
    URL=$(sed -n 's/.*web UI and REST API: \(https:[^ ]*\)/\1/p' $W/backstop/serve.log | head -1)
    TOKEN=$(curl -sk -X POST ${URL}api/v1/sessions -H 'Content-Type: application/json' \
      -d '{"username":"admin","password":"vtl-qemu-harness"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
    curl -skf -X POST ${URL}api/v1/libraries -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
      -d "{\"name\":\"btape\",\"drives\":1,\"slots\":4,\"mail_slots\":1,\"cartridge_size\":$(( ${BTAPE_MB:-400} << 20 ))}" >/dev/null
    curl -skf -X POST ${URL}api/v1/libraries/btape/cartridges -H "Authorization: Bearer $TOKEN" \
      -H 'Content-Type: application/json' -d '{"prefix":"BTP","count":2}' >/dev/null
    echo "HOST: library btape with two ${BTAPE_MB:-400} MiB cartridges"
  fi
}
stop_backstop() {
  kill $TPID 2>/dev/null || true
  wait $TPID 2>/dev/null || true
}
TPID=""
cleanup() { [ -n "$TPID" ] && kill -9 $TPID 2>/dev/null || true; }
trap cleanup EXIT

# ---------- 5. boot the guest against each target ----------
FAILED=0
for T in $TARGETS; do
  mkdir -p $W/$T
  echo "HOST: ---- $T ($MODE, $DATA_MB MiB) ----"
  start_$T
  : > $W/$T/host.txt
  if [ $MODE = bench ]; then
    "$VTLBENCH" -portal 127.0.0.1:$PORT -mib ${BENCH_MB:-256} | tee $W/$T/host.txt || echo "CHECK go-initiator-bench FAIL" | tee $W/$T/host.txt
  fi
  T0=$(date +%s.%N)
  timeout 900 qemu-system-x86_64 -accel tcg -m 512 -smp 1 -nographic \
    -kernel kpkg/boot/vmlinuz-$KVER -initrd $W/initrd.cpio.gz \
    -append "console=ttyS0 quiet panic=-1 bs.portal=10.0.2.2:$PORT bs.mode=$MODE bs.target=$T bs.match=${MATCH:-.}" \
    -drive file=$W/data-$DATA_MB.img,if=virtio,format=raw,readonly=on \
    -netdev user,id=n0 -device virtio-net-pci,netdev=n0,romfile= -no-reboot > $W/$T/guest.log 2>&1 || true
  T1=$(date +%s.%N)
  stop_$T
  TPID=""
  { cat $W/$T/host.txt; tr -d '\r' < $W/$T/guest.log | grep -a -o -E '(CHECK|MEASURE|GUEST:) .*'; } > $W/$T/summary.txt || true
  echo "HOST: qemu wall time $(echo "$T1 - $T0" | bc) s" | tee -a $W/$T/summary.txt
  if [ $T = backstop ] && [ $MODE = test ]; then
    "$BACKSTOP" stats --json --data $W/backstop/data > $W/backstop/stats.json
    DATA=$(awk '$1=="MEASURE" && $2=="guest-tar-write" {print $3}' $W/$T/summary.txt)
    python3 - $W/backstop/stats.json "${DATA:-0}" <<'PY' | tee -a $W/$T/summary.txt
import json, sys
s = json.load(open(sys.argv[1])); data = float(sys.argv[2]) * 2**20
logical, stored = s.get("logical_bytes", 0), s.get("stored_bytes", 0)
# Two backups of the same random data (plus a 1 MiB appended file): the appliance holds about
# twice the data logically and stores it about once: the second backup stored almost nothing new.
ok = data > 0 and logical >= 1.9 * data and stored <= 1.1 * data
print(f"MEASURE appliance logical {logical/2**20:.1f} MiB stored {stored/2**20:.1f} MiB dedup {logical/max(stored,1):.2f}x"
      f" (one backup is {data/2**20:.1f} MiB; the second stored {max(stored-data,0)/2**20:.1f} MiB new)")
print(f"CHECK second-backup-stores-almost-nothing {'ok' if ok else 'FAIL'}")
PY
  fi
  cat $W/$T/summary.txt
  if grep -q '^CHECK .* FAIL' $W/$T/summary.txt || ! grep -q '^GUEST: complete .* with 0 failed checks' $W/$T/summary.txt; then
    echo "HOST: $T RESULT FAIL (guest log: $W/$T/guest.log)"; FAILED=1
  else
    echo "HOST: $T RESULT OK"
  fi
done
exit $FAILED
