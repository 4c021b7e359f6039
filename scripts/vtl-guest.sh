#!/bin/sh
# The guest half of scripts/vtl-qemu.sh: runs as /init of the initramfs. Prints "CHECK <name> ok|FAIL"
# per step, "MEASURE ..." figures, and "GUEST: complete" at the end, then powers off.
export PATH=/sbin:/bin:/usr/sbin:/usr/bin
# busybox-static prefers its own applets: the real tools are called by full path.
MT=/usr/bin/mt; TAR=/bin/tar; MTX=/usr/sbin/mtx; DD=/bin/gnudd
mount -t proc proc /proc; mount -t sysfs sysfs /sys; mount -t devtmpfs devtmpfs /dev; mount -t tmpfs tmpfs /run
mkdir -p /run/lock/iscsi /var/lock /etc/iscsi/nodes /etc/iscsi/send_targets /etc/iscsi/ifaces /etc/iscsi/isns /etc/iscsi/static
arg() { sed -n "s/.*$1=\([^ ]*\).*/\1/p" /proc/cmdline; }
PORTAL=$(arg bs.portal); MODE=$(arg bs.mode); NAME=$(arg bs.target); MATCH=$(arg bs.match)
echo "GUEST: kernel $(uname -r) up at $(cut -d' ' -f1 /proc/uptime)s, target $NAME at $PORTAL, mode $MODE"
while read m; do insmod /lib/modules/$m 2>/dev/null; done < /modules.order
for i in $(seq 1 50); do [ -e /sys/class/net/eth0 ] && [ -e /dev/vda ] && break; sleep 0.1; done
ip link set lo up; ip link set eth0 up; ip addr add 10.0.2.15/24 dev eth0; ip route add default via 10.0.2.2
mount -t ext4 -o ro /dev/vda /data || echo "GUEST: no data disk"

FAILS=0
BF=1024   # tar blocking factor: 512 KiB records
check() { # check NAME RC
  if [ "$2" = 0 ]; then echo "CHECK $1 ok"; else echo "CHECK $1 FAIL (rc $2)"; FAILS=$((FAILS+1)); fi
}
now() { cut -d' ' -f1 /proc/uptime; }
rate() { # rate WHAT BYTES T0 T1
  echo "$2 $3 $4" | awk -v w="$1" '{ d = $3 - $2; if (d <= 0) d = 0.01; printf "MEASURE %s %.1f MiB in %.1f s = %.1f MiB/s\n", w, $1/1048576, d, $1/1048576/d }'
}
finish() {
  echo "=== LOGOUT"; iscsiadm -m node --logout >/dev/null 2>&1; check logout $?
  echo "GUEST: complete at $(now)s with $FAILS failed checks"
  poweroff -f
}

iscsid -f -n > /tmp/iscsid.log 2>&1 &
sleep 1
echo "=== DISCOVERY"
D=$(iscsiadm -m discovery -t st -p $PORTAL); rc=$?; echo "$D"; check discovery $rc
IQN=$(echo "$D" | awk '{print $2}' | grep -e "$MATCH" | head -1)
# Over qemu's user network the target sees the guest's connection arrive on 127.0.0.1 (slirp NAT),
# so the address it advertises is the guest's own loopback: log in through the alias instead.
iscsiadm -m node -o new -T $IQN -p $PORTAL >/dev/null
echo "=== LOGIN $IQN"
iscsiadm -m node -T $IQN -p $PORTAL --login; check login $?
for i in $(seq 1 60); do [ -c /dev/nst0 ] && ls /sys/class/scsi_changer/ 2>/dev/null | grep -q . && break; sleep 0.5; done
echo "=== SCSI DEVICES"
CHG=""; NTAPES=0
for d in /sys/class/scsi_generic/sg*; do
  n=$(basename $d); t=$(cat $d/device/type)
  echo "$n $(basename $(readlink -f $d/device)) type=$t vendor=$(cat $d/device/vendor) model=$(cat $d/device/model) rev=$(cat $d/device/rev)"
  [ "$t" = 8 ] && [ -z "$CHG" ] && CHG=/dev/$n
  [ "$t" = 1 ] && NTAPES=$((NTAPES+1))
done
[ -n "$CHG" ] && [ -c /dev/nst0 ]; check devices $?
[ -z "$CHG" ] && finish
for t in /dev/nst*; do case $t in *[0-9]) echo "--- sg_inq $t"; sg_inq $t | grep -E 'Vendor|Product|revision|serial'; esac; done

echo "=== MTX STATUS"
$MTX -f $CHG status > /tmp/mtx.out; check mtx-status $?; cat /tmp/mtx.out
SLOTS=$(sed -n 's/^ *Storage Element \([0-9]*\):Full.*/\1/p' /tmp/mtx.out)
S1=$(echo $SLOTS | cut -d' ' -f1); S2=$(echo $SLOTS | cut -d' ' -f2)
[ -n "$S1" ] && [ -n "$S2" ]; check two-full-slots $?

# Load slot S into drive 0 and find which /dev/nstN holds it.
TAPE=""
load() {
  $MTX -f $CHG load $1 0; check "mtx-load-slot$1" $?
  TAPE=""
  for i in $(seq 1 20); do
    for t in /dev/nst0 /dev/nst1 /dev/nst2 /dev/nst3; do
      [ -c $t ] || continue
      $MT -f $t status 2>/dev/null | grep -q ONLINE && { TAPE=$t; return; }
    done
    sleep 0.5
  done
}
unload() {
  $MT -f $TAPE offline; check mt-offline $?
  $MTX -f $CHG unload $1 0; check "mtx-unload-slot$1" $?
}
status_file() { $MT -f $TAPE status | sed -n 's/^File number=\([-0-9]*\).*/\1/p'; }

echo "=== MTX LOAD $S1"
load $S1
[ -n "$TAPE" ]; check tape-online $?
[ -z "$TAPE" ] && finish
echo "=== MT STATUS $TAPE"; $MT -f $TAPE status; check mt-status $?
$MT -f $TAPE rewind
$MT -f $TAPE setblk 0; check mt-setblk-variable $?

if [ "$MODE" = btape ]; then
  sed -i "s|/dev/nst0|$TAPE|" /etc/bacula/bacula-sd.conf
  echo "=== BTAPE TEST"
  printf 'test\nquit\n' | /usr/sbin/btape -c /etc/bacula/bacula-sd.conf Drive-test > /tmp/btape-test.log 2>&1; rc=$?
  cat /tmp/btape-test.log
  ! grep -q -E 'ERR=|FAILED|failed|is not correct|Test failed' /tmp/btape-test.log; bad=$?
  [ $rc = 0 ] && [ $bad = 0 ] && grep -q 'This is correct!' /tmp/btape-test.log \
    && grep -q '=== End Forward space files test ===' /tmp/btape-test.log \
    && [ "$(grep -c '=== Test Succeeded' /tmp/btape-test.log)" -ge 2 ] && ! grep -q -i 'not correct' /tmp/btape-test.log
  check btape-test $?
  echo "=== BTAPE FILL"
  $MT -f $TAPE rewind
  t0=$(now)
  printf 'fill\ns\n\nquit\n' | /usr/sbin/btape -c /etc/bacula/bacula-sd.conf Drive-fill > /tmp/btape-fill.log 2>&1; rc=$?
  t1=$(now)
  cat /tmp/btape-fill.log
  [ $rc = 0 ] && grep -q 'The last block on the tape matches. Test succeeded.' /tmp/btape-fill.log; check btape-fill $?
  echo "MEASURE btape-fill took $(echo "$t0 $t1" | awk '{print $2-$1}') s"
  unload $S1
  finish
fi

if [ "$MODE" = bench ]; then
  F=$(ls /data/set1/*.bin | head -1); B=$(stat -c %s $F)
  echo "=== DD WRITE $F"
  t0=$(now); $DD if=$F of=$TAPE bs=256k 2>/dev/null; check dd-write $?; t1=$(now); rate "guest-dd-write" $B $t0 $t1
  $MT -f $TAPE rewind
  t0=$(now); $DD if=$TAPE of=/dev/null bs=256k 2>/dev/null; check dd-read $?; t1=$(now); rate "guest-dd-read" $B $t0 $t1
  $MT -f $TAPE rewind
  unload $S1
  finish
fi

BYTES=$(du -sb /data/set1 /data/set2 /data/set3 | awk '{s+=$1} END {print s}')
echo "=== BACKUP 1: three tar files, one per set, each ended by a filemark"
t0=$(now)
for s in set1 set2 set3; do $TAR -cf $TAPE -b $BF -C /data $s; check "tar-write-$s" $?; done
t1=$(now); rate "guest-tar-write" $BYTES $t0 $t1
[ "$(status_file)" = 3 ]; check "three-files-written" $?
$MT -f $TAPE status

echo "=== POSITIONING"
# Reading a file with tar leaves the tape at the end of its data, before the filemark
# (st backs over its read-ahead on close): "mt fsf 1" moves on to the next file.
first_member() { $TAR -tf $TAPE -b $BF 2>/dev/null | head -1 | cut -d/ -f1; }
$MT -f $TAPE rewind; $MT -f $TAPE fsf 2; check mt-fsf $?
m=$(first_member); echo "after fsf 2: $m"; [ "$m" = set3 ]; check fsf-2-lands-on-set3 $?
$MT -f $TAPE eod; check mt-eod $?
f=$(status_file); echo "after eod: file number $f"; [ "$f" = 3 ]; check eod-is-after-the-third-filemark $?
$MT -f $TAPE bsfm 3; check mt-bsfm $?
m=$(first_member); echo "after eod, bsfm 3: $m"; [ "$m" = set2 ]; check bsfm-3-from-eod-lands-on-set2 $?
$MT -f $TAPE rewind; $MT -f $TAPE fsf 3; $MT -f $TAPE bsf 2; check mt-bsf $?
f=$(status_file); echo "after fsf 3, bsf 2: file number $f"; [ "$f" = 1 ]; check bsf-2-from-file3-is-in-file1 $?
$MT -f $TAPE fsf 1
m=$(first_member); echo "then fsf 1: $m"; [ "$m" = set3 ]; check bsf-then-fsf-lands-on-set3 $?
$MT -f $TAPE status

echo "=== APPEND at the end of data"
mkdir -p /tmp/append; $DD if=/dev/urandom of=/tmp/append/new.bin bs=64k count=16 2>/dev/null; date > /tmp/append/date.txt
$MT -f $TAPE eod; $TAR -cf $TAPE -b $BF -C /tmp append; check tar-append $?
f=$(status_file); echo "after append: file number $f"; [ "$f" = 4 ]; check four-files-after-append $?

echo "=== READ BACK AND COMPARE"
$MT -f $TAPE rewind
t0=$(now)
for s in set1 set2 set3; do
  $TAR -df $TAPE -b $BF -C /data; check "tar-compare-$s" $?
  $MT -f $TAPE fsf 1
done
t1=$(now); rate "guest-tar-read" $BYTES $t0 $t1
$TAR -df $TAPE -b $BF -C /tmp; check tar-compare-append $?
$MT -f $TAPE fsf 1; check fsf-to-eod $?
$MT -f $TAPE fsf 1 2>/dev/null; [ $? != 0 ]; check fsf-past-eod-fails $?
unload $S1

echo "=== BACKUP 2 on slot $S2: the same sets and one new file"
load $S2
[ -n "$TAPE" ]; check tape2-online $?
$MT -f $TAPE setblk 0
t0=$(now)
$TAR -cf $TAPE -b $BF -C /data set1 set2 set3 -C /tmp append; check tar-write-backup2 $?
t1=$(now); rate "guest-tar-write-backup2" $BYTES $t0 $t1
$MT -f $TAPE rewind
m=$(first_member); [ "$m" = set1 ]; check backup2-starts-with-set1 $?
unload $S2
$MTX -f $CHG status; check mtx-status-end $?
finish
