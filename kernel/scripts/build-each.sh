#!/usr/bin/env bash
# Checks that every prefix of the series builds: clones the pristine base fresh into
# kernel/build/each/, then for k = 1..N applies patch k, merges and checks the config and
# builds bzImage (and, once the tree has them, the uapi headers and the umcg kselftests);
# the builds are incremental in one tree. Finally it builds the whole series once more with
# CONFIG_UMCG=n (the stubs must build). Stops at the first failure. Slow (one cold build
# plus one incremental build per patch): run it before landing a patch, not in every CI run.
#
# Usage: build-each.sh [--no-umcg-n]
# Environment: UMCG_JOBS (make -j, default nproc), UMCG_KBUILD_LOCK (an extra lock file)
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
	sed -n '2,10s/^# \{0,1\}//p' "$0" >&2
	exit "${1:-2}"
}

umcg_n=1
while [ $# -gt 0 ]; do
	case $1 in
	--no-umcg-n) umcg_n=0; shift ;;
	-h | --help) usage 0 ;;
	*) usage ;;
	esac
done

take_kbuild_lock
inputs=$BUILD_DIR/inputs.$$
rm -rf "$inputs"
snapshot_inputs "$inputs"
load_base
mapfile -t patches < <(series_patches)
[ "${#patches[@]}" -gt 0 ] || { info "the series is empty: nothing to build"; exit 0; }
tree=$BUILD_DIR/each
jobs=${UMCG_JOBS:-$(nproc)}
results=()
trap 'rm -rf "$inputs"; printf "%s\n" "${results[@]}" >&2' EXIT

# Configures and builds the tree; $@: extra config fragments.
build_tree() {
	configure_tree "$tree" "$@"
	kmake "$tree" -j"$jobs" bzImage
	if [ -d "$tree/tools/testing/selftests/umcg" ]; then
		kmake "$tree" headers_install
		kmake "$tree/tools/testing/selftests" TARGETS=umcg
	fi
}

clone_base "$tree"
for k in "${!patches[@]}"; do
	name=${patches[$k]}
	start=$SECONDS
	printf '\n==== build-each: %d/%d %s\n' "$((k + 1))" "${#patches[@]}" "$name" >&2
	apply_patch "$tree" "$name"
	results+=("build-each: FAILED at $((k + 1)) $name")
	build_tree
	results[-1]="build-each: ok $((k + 1)) $name ($((SECONDS - start)) s)"
done

if [ "$umcg_n" -eq 1 ]; then
	printf '\n==== build-each: the whole series with CONFIG_UMCG=n\n' >&2
	if tree_defines_symbol "$tree" UMCG; then
		start=$SECONDS
		off=$BUILD_DIR/umcg-off.config
		printf '# CONFIG_UMCG is not set\n' >"$off"
		results+=("build-each: FAILED with CONFIG_UMCG=n")
		build_tree "$off"
		results[-1]="build-each: ok CONFIG_UMCG=n ($((SECONDS - start)) s)"
	else
		results+=("build-each: CONFIG_UMCG=n not built: the series does not define CONFIG_UMCG")
	fi
fi
info "every prefix of the series builds"
