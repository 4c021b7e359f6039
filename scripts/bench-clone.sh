#!/bin/sh
# Server-side copy and block cloning against a plain read-and-write copy
# over SMB (BenchmarkServerSideCopy, nas/smb2/clone_bench_test.go), each
# run COUNT times on a file of SIZE, then the median seconds per copy,
# the ratio to read-and-write and the bytes stored anew per copy.
#   scripts/bench-clone.sh [OUT]    SIZE=4G COUNT=3 by default
# OUT (default bench-results/smb-clone.txt) keeps the raw go test output.
set -eu
cd "$(dirname "$0")/.."
GO=${GO:-go}
out=${1:-bench-results/smb-clone.txt}
mkdir -p "$(dirname "$out")"
SMB_CLONE_BENCH_SIZE=${SIZE:-4G} $GO test -run '^$' -bench BenchmarkServerSideCopy \
	-benchtime 1x -count "${COUNT:-3}" -timeout 0 ./nas/smb2/ | tee "$out"
echo
echo "size ${SIZE:-4G}, median of ${COUNT:-3} runs:"
awk '
/^BenchmarkServerSideCopy\// {
	name = $1; sub(/^BenchmarkServerSideCopy\//, "", name); sub(/-[0-9]+$/, "", name)
	for (i = 2; i < NF; i++) {
		if ($(i+1) == "s/copy") secs[name] = secs[name] " " $i
		if ($(i+1) == "stored-B/op") stored[name] = stored[name] " " $i
	}
}
function median(list,    a, n, i, j, t) {
	n = split(list, a, " ")
	for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
	return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
END {
	base = median(secs["read-write"])
	printf "%-12s %12s %16s %16s\n", "copy", "s/copy", "x read-write", "stored B/copy"
	split("clone copychunk read-write", order, " ")
	for (k = 1; k <= 3; k++) {
		n = order[k]
		if (!(n in secs)) continue
		s = median(secs[n])
		printf "%-12s %12.3f %16s %16.0f\n", n, s, (s > 0 ? sprintf("%.1f", base / s) : "-"), median(stored[n])
	}
}' "$out"
