#!/bin/sh
# make test-smb: the SMB server against Samba's own clients.
#  1. installs smbclient and smbtorture (samba-testsuite) if missing;
#  2. runs the Go tests that drive smbclient (put/get/mkdir/rename/del/
#     ls/allinfo, tar -Tc/-Tx, SMB2/SMB3, signed, encrypted);
#  3. runs the smbtorture groups (the SMB issue's thirteen, then
#     smb2.lease, oplock, ioctl, durable-v2-open and sharemode) against
#     the server (nas/smb2/internal/
#     memserve, an in-memory share) and fails when a test listed in
#     nas/smb2/testdata/smbtorture-pass.txt (the tests that passed when
#     it was last recorded) does not pass.
# UPDATE_BASELINE=1 rewrites the list from this run; SMB_LOGS=DIR keeps
# the smbtorture logs.
set -eu
cd "$(dirname "$0")/.."
GO=${GO:-go}
GROUPS=${SMB_GROUPS:-"smb2.connect smb2.read smb2.rw smb2.dir smb2.create smb2.getinfo smb2.setinfo smb2.rename smb2.lock smb2.session smb2.tcon smb2.delete-on-close-perms smb2.credits smb2.lease smb2.oplock smb2.ioctl smb2.durable-v2-open smb2.sharemode smb2.compound"}
baseline=nas/smb2/testdata/smbtorture-pass.txt

if ! command -v smbclient >/dev/null || ! command -v smbtorture >/dev/null; then
	apt-get install -y smbclient samba-testsuite
fi

$GO test -count=1 -run 'TestSmbclient' ./nas/smb2/

work=$(mktemp -d)
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$work"' EXIT
$GO build -o "$work/memserve" ./nas/smb2/internal/memserve
pass=torture-$$-pass
"$work/memserve" -listen 127.0.0.1:0 -password "$pass" >"$work/addr" 2>"$work/server.log" &
pid=$!
for _ in 1 2 3 4 5 6 7 8 9 10; do
	grep -q listening "$work/addr" 2>/dev/null && break
	sleep 0.5
done
addr=$(sed -n 's/^listening on //p' "$work/addr")
port=${addr##*:}
[ -n "$port" ] || { echo "memserve did not start"; cat "$work/server.log"; exit 1; }

logs=${SMB_LOGS:-$work/logs}
scripts/smbtorture.sh 127.0.0.1 "$port" data "backup%$pass" "$logs" $GROUPS | tee "$work/counts"
for g in $GROUPS; do
	sed -n "s/^success: \(.*\)/$g.\1/p" "$logs/$g.log"
done | sort >"$work/passed"

if [ "${UPDATE_BASELINE:-}" = 1 ]; then
	cp "$work/passed" "$baseline"
	echo "wrote $baseline ($(wc -l <"$baseline") tests)"
	exit 0
fi
missing=$(comm -23 "$baseline" "$work/passed")
if [ -n "$missing" ]; then
	echo "smbtorture tests that passed before and fail now:"
	echo "$missing"
	for t in $missing; do
		g=$(echo "$t" | cut -d. -f1-2)
		grep -A3 "^failure: ${t#$g.} \[" "$logs/$g.log" || true
	done
	exit 1
fi
echo "smbtorture: $(wc -l <"$work/passed") tests pass, none of the $(wc -l <"$baseline") recorded ones fails"
