#!/usr/bin/env bash
# realdata.sh DATA_DIR — build the "real data" benchmark set, idempotently.
#
# The set is 20 successive releases of one large Go module, each packed as a
# deterministic tar at DATA_DIR/tars/NN-<version>.tar (NN = 01..20, oldest
# first). Successive tars share most of their bytes, like successive full
# backups of a slowly changing source tree.
#
# Module sources come from the Go module proxy through a private module cache
# (DATA_DIR/modcache), which is deleted once all tars exist.
#
# Overrides (for experiments only; the published figures use the defaults):
#   MODULE=...            module path
#   VERSIONS="v1 v2 ..."  versions, oldest first
set -euo pipefail

# github.com/oracle/oci-go-sdk/v65: ~149 MB / ~27k files unpacked per release
# (~175 MB as a tar), weekly releases. These are the newest 20 releases the
# module proxy lists; note the gaps v65.109.2 -> v65.111.0 -> v65.119.0 (the
# proxy lists nothing in between), the other 17 steps are consecutive releases.
DEFAULT_MODULE=github.com/oracle/oci-go-sdk/v65
DEFAULT_VERSIONS="v65.109.2 v65.111.0 v65.119.0 v65.120.0 v65.121.0 v65.121.1
v65.122.0 v65.123.0 v65.123.1 v65.123.2 v65.124.0 v65.124.1 v65.124.2 v65.125.0
v65.126.0 v65.126.1 v65.126.2 v65.127.0 v65.128.0 v65.129.0"

MODULE=${MODULE:-$DEFAULT_MODULE}
read -r -a VERS <<<"$(echo "${VERSIONS:-$DEFAULT_VERSIONS}" | tr '\n' ' ')"

if [[ $# -ne 1 ]]; then
	echo "usage: $0 DATA_DIR" >&2
	exit 2
fi
for t in go tar sha256sum; do
	command -v "$t" >/dev/null || { echo "realdata: missing tool: $t" >&2; exit 1; }
done

mkdir -p "$1"
DATA_DIR=$(cd "$1" && pwd)
TARS=$DATA_DIR/tars
STAMP=$DATA_DIR/COMPLETE # module + versions of a finished set
MANIFEST=$DATA_DIR/MANIFEST.tsv # NN, version, bytes, sha256
WANT="$MODULE ${VERS[*]}"

summary() {
	local total
	total=$(awk -F'\t' '{s += $3} END {printf "%.0f", s}' "$MANIFEST")
	echo "module:   $MODULE"
	echo "versions: ${VERS[*]}"
	echo "tars:     ${#VERS[@]} in $TARS"
	awk -F'\t' '{printf "  %s-%s.tar  %d bytes\n", $1, $2, $3}' "$MANIFEST"
	echo "total:    $total bytes ($(awk -v b="$total" 'BEGIN {printf "%.1f", b / 1048576}') MiB)"
}

# Fast path: a finished set for the same module and versions.
if [[ -f $STAMP && "$(cat "$STAMP")" == "$WANT" ]]; then
	echo "realdata: data set already built in $DATA_DIR"
	summary
	exit 0
fi

start=$(date +%s.%N)
mkdir -p "$TARS"
# A different module or version list: start the tar directory afresh.
if [[ -f $STAMP ]]; then
	echo "realdata: $STAMP is for another set, rebuilding" >&2
	rm -f "$STAMP" "$MANIFEST" "$TARS"/*.tar
fi

# A private module cache. go extracts ~27k files per version; on this VM's
# ext4 that costs 10-25 s of kernel time per version, on tmpfs ~1 s, so the
# cache goes to /dev/shm when it is a tmpfs with room (one version is
# extracted at a time), else to DATA_DIR/modcache (MODCACHE_IN_DATA=1 forces
# that). Either way it is deleted on exit.
if [[ ${MODCACHE_IN_DATA:-} != 1 && $(stat -f -c %T /dev/shm 2>/dev/null) == tmpfs &&
	$(df -Pk /dev/shm | awk 'NR == 2 {print $4}') -gt $((2 << 20)) ]]; then
	GOMODCACHE=$(mktemp -d /dev/shm/realdata-modcache.XXXXXX)
else
	GOMODCACHE=$DATA_DIR/modcache
fi
export GOMODCACHE
export GOFLAGS="${GOFLAGS:-} -modcacherw" # so the cache can be deleted
export GO111MODULE=on GOTOOLCHAIN=local
# Run go outside any module so that no go.mod around us is consulted.
GOWD=$(mktemp -d)
trap 'rm -rf "$GOWD" "$GOMODCACHE"' EXIT
echo "realdata: module cache in $GOMODCACHE"

elapsed() { awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN {printf "%.1f", e - s}'; }
tarname() { printf '%s/%02d-%s.tar' "$TARS" "$(($1 + 1))" "${VERS[$1]}"; }

: >"$MANIFEST.tmp"
for i in "${!VERS[@]}"; do
	v=${VERS[$i]}
	out=$(tarname "$i")
	if [[ ! -f $out ]]; then
		# One version at a time keeps the cache small (one extracted tree).
		(cd "$GOWD" && go mod download -json "$MODULE@$v") >"$GOWD/dl.json"
		dir=$(sed -n 's/^\t"Dir": "\(.*\)",$/\1/p' "$GOWD/dl.json")
		zip=$(sed -n 's/^\t"Zip": "\(.*\)",$/\1/p' "$GOWD/dl.json")
		[[ -d $dir ]] || { echo "realdata: no extracted dir for $MODULE@$v" >&2; exit 1; }
		# Paths inside the tar do not contain the version (./...), as in
		# successive backups of one directory; metadata is normalised.
		tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner \
			--mode=u=rwX,go=rX --format=gnu -C "$dir" -cf "$out.tmp" .
		mv "$out.tmp" "$out"
		rm -rf "$dir" "$zip" # keep at most one version in the cache
		echo "realdata: wrote $out (+$(elapsed) s)"
	fi
	printf '%02d\t%s\t%s\t%s\n' "$((i + 1))" "$v" "$(stat -c %s "$out")" \
		"$(sha256sum "$out" | cut -d' ' -f1)" >>"$MANIFEST.tmp"
done
mv "$MANIFEST.tmp" "$MANIFEST"
echo "realdata: tars written at +$(elapsed) s"

rm -rf "$GOMODCACHE" # only the tars are needed
echo "$WANT" >"$STAMP"

summary
echo "build time: $(elapsed) s"
