#!/bin/sh
# make smb-conformance: the smbtorture groups against Backstop (memserve,
# the in-memory share of nas/smb2) and against Samba's smbd (scripts/smbd.sh)
# in the same session, printed as the markdown table of docs/conformance.md:
# per group the tests run, the passes of each, and the tests one passes and
# the other fails.
#   scripts/smb-conformance.sh [GROUP...]     (default: every group of make test-smb)
# SMB_LOGS=DIR keeps the logs (DIR/backstop/GROUP.log, DIR/smbd/GROUP.log).
set -eu
cd "$(dirname "$0")/.."
GO=${GO:-go}
if [ $# -eq 0 ]; then
	set -- $(sed -n 's/^GROUPS=\${SMB_GROUPS:-"\(.*\)"}$/\1/p' scripts/test-smb.sh)
fi
[ $# -gt 0 ] || { echo "smb-conformance: no groups" >&2; exit 2; }
if ! command -v smbtorture >/dev/null || ! command -v smbd >/dev/null; then
	apt-get install -y samba samba-testsuite
fi

work=$(mktemp -d)
mpid= spid= spgid=
cleanup() {
	[ -n "$mpid" ] && kill "$mpid" 2>/dev/null
	# smbd and the RPC helpers it starts share the session setsid gave them.
	[ -n "$spgid" ] && kill -- "-$spgid" 2>/dev/null
	# samba-dcerpcd leaves that session: find it by its configuration file.
	pkill -f "configfile=$work/smbd/smb.conf" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT
logs=${SMB_LOGS:-$work/logs}
pass=conformance-$$

$GO build -o "$work/memserve" ./nas/smb2/internal/memserve
"$work/memserve" -listen 127.0.0.1:0 -password "$pass" >"$work/addr" 2>"$work/memserve.log" &
mpid=$!
for _ in 1 2 3 4 5 6 7 8 9 10; do
	grep -q listening "$work/addr" 2>/dev/null && break
	sleep 0.5
done
mport=$(sed -n 's/^listening on .*://p' "$work/addr")
[ -n "$mport" ] || { echo "memserve did not start" >&2; cat "$work/memserve.log" >&2; exit 1; }

# A free loopback port for smbd: bind port 0 once and reuse its number.
sport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
# In a session of its own: smbd signals its whole process group when it stops.
spid=$(setsid scripts/smbd.sh "$work/smbd" "$sport" "$pass")
spgid=$(ps -o pgid= "$spid" | tr -d ' ')
for _ in 1 2 3 4 5 6 7 8 9 10; do
	smbclient -L 127.0.0.1 -p "$sport" -U "backup%$pass" >/dev/null 2>&1 && break
	sleep 0.5
done

scripts/smbtorture.sh 127.0.0.1 "$mport" data "backup%$pass" "$logs/backstop" "$@" >"$work/backstop.counts"
scripts/smbtorture.sh 127.0.0.1 "$sport" data "backup%$pass" "$logs/smbd" "$@" >"$work/smbd.counts"

passed() { sed -n 's/^success: //p' "$1" | sort; }
echo "| group | tests | Backstop passes | Samba passes | Samba passes, Backstop fails | Backstop passes, Samba fails |"
echo "|---|---|---|---|---|---|"
tb=0 ts=0 tt=0
for g in "$@"; do
	b=$(awk -v g="$g" '$1 == g {print $2}' "$work/backstop.counts")
	s=$(awk -v g="$g" '$1 == g {print $2}' "$work/smbd.counts")
	t=$(awk -v g="$g" '$1 == g {print $3}' "$work/backstop.counts")
	passed "$logs/backstop/$g.log" >"$work/b"
	passed "$logs/smbd/$g.log" >"$work/s"
	only_s=$(comm -13 "$work/b" "$work/s" | paste -sd, - | sed 's/,/, /g')
	only_b=$(comm -23 "$work/b" "$work/s" | paste -sd, - | sed 's/,/, /g')
	echo "| $g | $t | $b | $s | $only_s | $only_b |"
	tb=$((tb + b)) ts=$((ts + s)) tt=$((tt + t))
done
echo "| **total** | **$tt** | **$tb** | **$ts** | | |"
