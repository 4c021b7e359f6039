#!/bin/bash
# make bench-vtl: write and read MiB/s to a virtual tape drive over iSCSI, against Backstop and
# against tgt's reference VTL in the same run: from the host with the Go initiator
# (tools/vtlbench, BENCH_MB of pseudo-random 256 KiB records) and from a Debian kernel under
# qemu with dd (256 KiB records of random data from the guest's data disk).
# Writes a Markdown table to $RESULTS (default bench-results/vtl.md).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
RESULTS=${RESULTS:-$HERE/../bench-results/vtl.md}
W=${W:-/tmp/backstop-vtl-qemu}
export W BACKSTOP=${BACKSTOP:-$HERE/../backstop} MODE=bench DATA_MB=${DATA_MB:-200}
rc=0
"$HERE/vtl-qemu.sh" backstop tgt || rc=$?
mkdir -p "$(dirname "$RESULTS")"
{
  echo "# VTL throughput ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $(uname -r))"
  echo
  echo "| measurement | Backstop MiB/s | tgt MiB/s |"
  echo "|---|---|---|"
  for m in go-initiator-write go-initiator-read guest-dd-write guest-dd-read; do
    b=$(awk -v m=$m '$1=="MEASURE" && $2==m {print $(NF-1)}' $W/backstop/summary.txt)
    t=$(awk -v m=$m '$1=="MEASURE" && $2==m {print $(NF-1)}' $W/tgt/summary.txt)
    echo "| $m | ${b:-n/a} | ${t:-n/a} |"
  done
  echo
  echo "go-initiator: tools/vtlbench on the host over 127.0.0.1, ${BENCH_MB:-256} MiB in 256 KiB variable"
  echo "records, write then read back and compare. guest-dd: dd bs=256k of a ~$((DATA_MB/9)) MiB random"
  echo "file through the Linux st driver in a TCG (not KVM) qemu guest over user-mode networking:"
  echo "the guest's CPU, not the target, is the bottleneck there; compare the two columns, not the"
  echo "absolute numbers."
} > "$RESULTS"
cat "$RESULTS"
exit $rc
