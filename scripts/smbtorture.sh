#!/bin/sh
# smbtorture groups against one server; prints "group passed total" per
# group (total counts success, failure, error and skip lines).
#   scripts/smbtorture.sh HOST PORT SHARE USER%PASS OUTDIR group...
set -u
host=$1 port=$2 share=$3 cred=$4 out=$5
shift 5
mkdir -p "$out"
for g in "$@"; do
	log="$out/$g.log"
	timeout "${TORTURE_TIMEOUT:-300}" smbtorture "//$host/$share" -p "$port" -U "$cred" \
		--option=torture:sharedelay=10000 "$g" >"$log" 2>&1
	pass=$(grep -c '^success: ' "$log")
	total=$(grep -c '^\(success\|failure\|error\|skip\): ' "$log")
	echo "$g $pass $total"
done
