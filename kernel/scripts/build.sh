#!/usr/bin/env bash
# Builds the UMCG test kernel and caches the result in kernel/build/cache/<key>/, where the
# key hashes kernel/BASE, the installed base version, configs/umcg.config, the series, each
# listed patch and the build scripts. A cache hit does nothing. A miss prepares the tree
# (prepare.sh), merges the config over tinyconfig, checks every requested option, builds
# bzImage, installs the uapi headers and, when the series adds them, builds the umcg
# kselftests. Prints the cache directory on stdout; it holds
#   bzImage  config  System.map  headers/ (uapi, for userspace)  selftests/ (kselftest install,
#   if any)
#
# Usage: build.sh [--force] [--config NAME]
#   --force          rebuild even on a cache hit
#   --config NAME    test (default: configs/umcg.config) or bench (configs/bench.config
#                    merged after it: no lockdep and other debug options, for timing only)
# Environment: UMCG_JOBS (make -j, default nproc), UMCG_KBUILD_LOCK (an extra lock file),
#              UMCG_KCONFIG (default for --config), V=1 (verbose make)
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
	sed -n '2,16s/^# \{0,1\}//p' "$0" >&2
	exit "${1:-2}"
}

force=0
while [ $# -gt 0 ]; do
	case $1 in
	--force) force=1; shift ;;
	--config) export UMCG_KCONFIG=${2:?--config needs a name}; KCONFIG_NAME=$2; shift 2 ;;
	-h | --help) usage 0 ;;
	*) usage ;;
	esac
done

kconfig_overlay >/dev/null
load_base
key=$(cache_key "")
out=$CACHE_DIR/$key
if [ "$force" -eq 0 ] && [ -f "$out/bzImage" ]; then
	info "cache hit: $out"
	printf '%s\n' "$out"
	exit 0
fi

take_kbuild_lock
# From here on the build works from a copy of its inputs: the key names what was built.
inputs=$BUILD_DIR/inputs.$$
trap 'rm -rf "$inputs"' EXIT
rm -rf "$inputs"
snapshot_inputs "$inputs"
load_base
key=$(cache_key "")
out=$CACHE_DIR/$key
if [ "$force" -eq 0 ] && [ -f "$out/bzImage" ]; then
	info "cache hit (built while waiting for the lock): $out"
	printf '%s\n' "$out"
	exit 0
fi

start=$SECONDS
tree=$("$SCRIPTS_DIR/prepare.sh")
# The objects of the test configuration take about 250 MB (the sources are links).
need_space "$BUILD_DIR" 600 "building the kernel"
info "configuring $tree"
configure_tree "$tree"
jobs=${UMCG_JOBS:-$(nproc)}
info "building bzImage (make -j$jobs)"
kmake "$tree" -j"$jobs" bzImage
info "installing the uapi headers"
kmake "$tree" headers_install

tmp=$out.tmp
rm -rf "$tmp"
mkdir -p "$tmp"
cp "$tree/arch/x86/boot/bzImage" "$tmp/bzImage"
cp "$tree/.config" "$tmp/config"
cp "$tree/System.map" "$tmp/System.map"
cp -a "$tree/usr/include" "$tmp/headers"
if [ -d "$tree/tools/testing/selftests/umcg" ]; then
	info "building the umcg kselftests"
	kmake "$tree/tools/testing/selftests" TARGETS=umcg INSTALL_PATH="$tmp/selftests" install
else
	info "the series has no tools/testing/selftests/umcg (yet): no kselftests"
fi
{
	printf 'key=%s\nbase=%s %s\nconfig=%s\n' "$key" "$BASE_PACKAGE" "$INSTALLED_VERSION" \
		"$KCONFIG_NAME"
	series_patches | sed 's/^/patch=/'
	printf 'built=%s in %ss\n' "$(date -u +%FT%TZ)" "$((SECONDS - start))"
} >"$tmp/BUILD-INFO"
rm -rf "$out"
mv "$tmp" "$out"
info "built in $((SECONDS - start)) s: $out"
printf '%s\n' "$out"
