#!/usr/bin/env bash
# realdata-npm.sh DATA_DIR — build the second "real data" benchmark set:
# compiled binaries, idempotently.
#
# 20 generations of a directory of developer tools as npm ships them: each
# generation is a deterministic tar at DATA_DIR/tars/NN-gNN.tar holding
# node_modules/<package>/ for four packages at their NN-th pinned version
# (oldest first), like a weekly full backup of a CI machine's tool cache:
#
#   @biomejs/cli-linux-x64    Rust, one ~100 MB statically linked executable
#   @esbuild/linux-x64        Go, one ~11 MB executable
#   @swc/core-linux-x64-gnu   Rust, one ~10 MB Node-API shared object
#   typescript                JavaScript (the compiler, ~24 MB of .js/.d.ts)
#
# Unlike the Go module set (text that changes in a few files per release),
# successive builds of a compiled binary share little byte-for-byte (code
# moves, addresses shift), so here compression decides more and dedup less.
#
# The package tarballs come from the npm registry through `npm pack` (which
# checks each against the registry's integrity hash) into a private npm cache
# (DATA_DIR/npm-cache), deleted once all tars exist. The tars are
# byte-reproducible: MANIFEST.tsv lists their sha256.
set -euo pipefail

PKGS=(@biomejs/cli-linux-x64 @esbuild/linux-x64 @swc/core-linux-x64-gnu typescript)
# The newest 20 stable releases of each on 2026-12-07 (typescript: those
# before the native 7.x line).
declare -A VERSIONS=(
	[@biomejs/cli-linux-x64]="2.5.4 2.5.5 2.5.6 2.5.7 2.5.8 2.5.9 2.5.10 2.5.11 2.5.12 2.5.13
		2.5.14 2.5.15 2.6.2 2.6.3 2.6.4 2.6.5 2.6.6 2.6.7 2.6.8 2.6.9"
	[@esbuild/linux-x64]="0.25.5 0.25.6 0.25.7 0.25.8 0.25.9 0.25.10 0.25.11 0.25.12 0.26.0
		0.27.0 0.27.1 0.27.2 0.27.3 0.27.4 0.27.5 0.27.6 0.27.7 0.28.0 0.28.1 0.28.2"
	[@swc/core-linux-x64-gnu]="1.15.26 1.15.30 1.15.32 1.15.33 1.15.40 1.15.41 1.15.43 1.15.46
		1.15.47 1.16.0 1.16.1 1.16.2 1.16.12 1.16.13 1.16.17 1.16.18 1.16.20 1.16.21 1.16.22 1.16.30"
	[typescript]="5.2.2 5.3.2 5.3.3 5.4.2 5.4.3 5.4.4 5.4.5 5.5.2 5.5.3 5.5.4 5.6.2 5.6.3
		5.7.2 5.7.3 5.8.2 5.8.3 5.9.2 5.9.3 6.0.2 6.0.3"
)
GENS=20

if [[ $# -ne 1 ]]; then
	echo "usage: $0 DATA_DIR" >&2
	exit 2
fi
for t in npm tar sha256sum; do
	command -v "$t" >/dev/null || { echo "realdata-npm: missing tool: $t" >&2; exit 1; }
done

mkdir -p "$1"
DATA_DIR=$(cd "$1" && pwd)
TARS=$DATA_DIR/tars
STAMP=$DATA_DIR/COMPLETE     # set name + package versions of a finished set
MANIFEST=$DATA_DIR/MANIFEST.tsv # NN, label, bytes, sha256
WANT="npm-tools"
for p in "${PKGS[@]}"; do WANT+=" $p@$(echo ${VERSIONS[$p]} | tr ' ' ,)"; done

summary() {
	local total
	total=$(awk -F'\t' '{s += $3} END {printf "%.0f", s}' "$MANIFEST")
	echo "set:      npm-tools (${PKGS[*]})"
	echo "tars:     $GENS in $TARS"
	awk -F'\t' '{printf "  %s-%s.tar  %d bytes  %s\n", $1, $2, $3, $4}' "$MANIFEST"
	echo "total:    $total bytes ($(awk -v b="$total" 'BEGIN {printf "%.1f", b / 1048576}') MiB)"
}

if [[ -f $STAMP && "$(cat "$STAMP")" == "$WANT" ]]; then
	echo "realdata-npm: data set already built in $DATA_DIR"
	summary
	exit 0
fi

start=$(date +%s.%N)
elapsed() { awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN {printf "%.1f", e - s}'; }
mkdir -p "$TARS"
if [[ -f $STAMP ]]; then
	echo "realdata-npm: $STAMP is for another set, rebuilding" >&2
	rm -f "$STAMP" "$MANIFEST" "$TARS"/*.tar
fi

WORK=$(mktemp -d "$DATA_DIR/work.XXXXXX")
CACHE=$DATA_DIR/npm-cache
trap 'rm -rf "$WORK" "$CACHE"' EXIT

: >"$MANIFEST.tmp"
for ((g = 1; g <= GENS; g++)); do
	label=$(printf 'g%02d' "$g")
	out=$(printf '%s/%02d-%s.tar' "$TARS" "$g" "$label")
	if [[ ! -f $out ]]; then
		rm -rf "$WORK/tree" "$WORK/tgz"
		mkdir -p "$WORK/tree/node_modules" "$WORK/tgz"
		specs=()
		for p in "${PKGS[@]}"; do
			read -r -a vs <<<"$(echo ${VERSIONS[$p]})"
			((${#vs[@]} == GENS)) || { echo "realdata-npm: $p: ${#vs[@]} versions, want $GENS" >&2; exit 1; }
			specs+=("$p@${vs[g - 1]}")
		done
		(cd "$WORK/tgz" && npm pack --silent --cache "$CACHE" "${specs[@]}" >/dev/null)
		for s in "${specs[@]}"; do
			p=${s%@*} v=${s##*@}
			# npm pack names @scope/name@v scope-name-v.tgz.
			tgz=$WORK/tgz/$(echo "${p#@}" | tr / -)-$v.tgz
			mkdir -p "$WORK/tree/node_modules/$p"
			tar -xzf "$tgz" -C "$WORK/tree/node_modules/$p" --strip-components=1 --no-same-owner
		done
		tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner \
			--mode=u=rwX,go=rX --format=gnu -C "$WORK/tree" -cf "$out.tmp" .
		mv "$out.tmp" "$out"
		echo "realdata-npm: wrote $out: ${specs[*]} (+$(elapsed) s)"
	fi
	printf '%02d\t%s\t%s\t%s\n' "$g" "$label" "$(stat -c %s "$out")" \
		"$(sha256sum "$out" | cut -d' ' -f1)" >>"$MANIFEST.tmp"
done
mv "$MANIFEST.tmp" "$MANIFEST"
rm -rf "$WORK" "$CACHE"
echo "$WANT" >"$STAMP"

summary
echo "build time: $(elapsed) s"
