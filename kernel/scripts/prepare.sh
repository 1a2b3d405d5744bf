#!/usr/bin/env bash
# Prepares a kernel source tree: the base from kernel/BASE, cloned fresh into
# kernel/build/src-<key> (hard links to the pristine base tree: clone_base in lib.sh), with
# the patches of kernel/patches/series applied in order (patch -p1 --forward), stopping at
# the first one that does not apply. A tree that was completely prepared for the same key
# is reused as it is (with its build objects). Prints the tree's path on stdout.
#
# Usage: prepare.sh [-n COUNT]    apply only the first COUNT patches of the series
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# How many prepared trees to keep (each costs its build objects: the sources are links).
KEEP_TREES=2

usage() {
	sed -n '2,9s/^# \{0,1\}//p' "$0" >&2
	exit "${1:-2}"
}

count=""
while [ $# -gt 0 ]; do
	case $1 in
	-n) count=${2:?-n needs a number}; shift 2 ;;
	-h | --help) usage 0 ;;
	*) usage ;;
	esac
done

take_kbuild_lock
inputs=$BUILD_DIR/inputs.$$
if [ -z "${UMCG_INPUTS:-}" ]; then
	trap 'rm -rf "$inputs"' EXIT
	rm -rf "$inputs"
	snapshot_inputs "$inputs"
fi
load_base
key=$(cache_key "$count")
tree=$BUILD_DIR/src-$key
stamp=$tree/.umcg-prepared

if [ -f "$stamp" ]; then
	info "reusing $tree"
	touch "$stamp"
	printf '%s\n' "$tree"
	exit 0
fi

clone_base "$tree"
mapfile -t patches < <(series_prefix "$count")
if [ "${#patches[@]}" -eq 0 ]; then
	info "the series is empty: building the unpatched base"
fi
for name in "${patches[@]}"; do
	apply_patch "$tree" "$name"
done
printf '%s\n' "$key" >"$stamp"

# Drop the least recently used trees beyond KEEP_TREES, and trees whose preparation failed
# earlier; the built images stay in the cache.
mapfile -t stale < <(
	# shellcheck disable=SC2012 # the names are src-<hex>
	ls -1t "$BUILD_DIR"/src-*/.umcg-prepared | tail -n +$((KEEP_TREES + 1)) | xargs -r -n1 dirname
	for dir in "$BUILD_DIR"/src-*; do [ -f "$dir/.umcg-prepared" ] || printf '%s\n' "$dir"; done
)
for old in "${stale[@]}"; do
	info "removing the old tree $old"
	rm -rf "$old"
done
printf '%s\n' "$tree"
