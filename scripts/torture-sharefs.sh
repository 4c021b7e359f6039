#!/bin/sh
# make torture-sharefs: the smbtorture groups of make test-smb against the
# share filesystem (nas/sharefs/internal/shareserve: the real share
# manager over chunkstore in a temporary data directory) instead of the
# in-memory share; fails when a test of the recorded baseline
# (nas/smb2/testdata/smbtorture-pass.txt) does not pass, or, without a
# baseline, a test that passes on the in-memory share (memserve, run too).
set -eu
cd "$(dirname "$0")/.."
GO=${GO:-go}
GROUPS=${SMB_GROUPS:-"smb2.connect smb2.read smb2.rw smb2.dir smb2.create smb2.getinfo smb2.setinfo smb2.rename smb2.lock smb2.session smb2.tcon smb2.delete-on-close-perms smb2.credits"}
baseline=nas/smb2/testdata/smbtorture-pass.txt

if ! command -v smbtorture >/dev/null; then
	apt-get install -y samba-testsuite
fi
work=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill $pid 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
$GO build -o "$work/shareserve" ./nas/sharefs/internal/shareserve
pass=torture-$$-pass
"$work/shareserve" -data "$work/data" -listen 127.0.0.1:0 -password "$pass" >"$work/addr" 2>"$work/server.log" &
pid=$!
for _ in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
	grep -q listening "$work/addr" 2>/dev/null && break
	sleep 0.5
done
addr=$(sed -n 's/^listening on //p' "$work/addr")
port=${addr##*:}
[ -n "$port" ] || { echo "shareserve did not start"; cat "$work/server.log"; exit 1; }

scripts/smbtorture.sh 127.0.0.1 "$port" data "backup%$pass" "$work/logs" $GROUPS | tee "$work/counts"
for g in $GROUPS; do
	sed -n "s/^success: \(.*\)/$g.\1/p" "$work/logs/$g.log"
done | sort >"$work/passed"
if [ ! -f "$baseline" ]; then
	echo "no $baseline: running the same groups on the in-memory share for reference"
	$GO build -o "$work/memserve" ./nas/smb2/internal/memserve
	"$work/memserve" -listen 127.0.0.1:0 -password "$pass" >"$work/maddr" 2>"$work/mserver.log" &
	mpid=$!
	for _ in 1 2 3 4 5 6 7 8 9 10; do
		grep -q listening "$work/maddr" 2>/dev/null && break
		sleep 0.5
	done
	mport=$(sed -n 's/^listening on .*://p' "$work/maddr")
	scripts/smbtorture.sh 127.0.0.1 "$mport" data "backup%$pass" "$work/mlogs" $GROUPS | tee "$work/mcounts"
	kill $mpid
	for g in $GROUPS; do
		sed -n "s/^success: \(.*\)/$g.\1/p" "$work/mlogs/$g.log"
	done | sort >"$work/baseline"
	baseline=$work/baseline
fi
missing=$(comm -23 "$baseline" "$work/passed")
if [ -n "$missing" ]; then
	echo "smbtorture tests of the baseline that fail on the share filesystem:"
	echo "$missing"
	exit 1
fi
echo "smbtorture on the share filesystem: $(wc -l <"$work/passed") tests pass, none of the $(wc -l <"$baseline") recorded ones fails"
