# shellcheck shell=bash
# Shared paths and helpers of the UMCG kernel scripts. Sourced by the scripts next to it,
# never run on its own. Every path is derived from this file's location.
# shellcheck disable=SC2034 # the variables are used by the scripts that source this file

KERNEL_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
REPO_DIR=$(cd "$KERNEL_DIR/.." && pwd)
SCRIPTS_DIR=$KERNEL_DIR/scripts
BUILD_DIR=$KERNEL_DIR/build
CACHE_DIR=$BUILD_DIR/cache
# The build inputs: kernel/ itself, or the snapshot of them a build works from (see
# snapshot_inputs), named by UMCG_INPUTS.
INPUT_DIR=${UMCG_INPUTS:-$KERNEL_DIR}
PATCH_DIR=$INPUT_DIR/patches
SERIES_FILE=$PATCH_DIR/series
CONFIG_FRAGMENT=$INPUT_DIR/configs/umcg.config
BASE_FILE=$INPUT_DIR/BASE
# The kernel configuration: "test" (umcg.config alone, the default) or the name of an
# overlay merged after it, configs/<name>.config (UMCG_KCONFIG=bench: the benchmark kernel
# without the debug options). Scripts take it as --config NAME.
KCONFIG_NAME=${UMCG_KCONFIG:-test}
# How many characters of the sha256 name a source tree and a cache entry.
KEY_LEN=16

info() { printf '%s: %s\n' "${0##*/}" "$*" >&2; }
warn() { printf '%s: WARNING: %s\n' "${0##*/}" "$*" >&2; }
die() {
	printf '%s: ERROR: %s\n' "${0##*/}" "$*" >&2
	exit 1
}

# Reads kernel/BASE (shell-style KEY=value lines) into BASE_PACKAGE, BASE_VERSION,
# BASE_TARBALL, and sets INSTALLED_VERSION to the version dpkg reports. A different
# installed version is a warning, not an error: Debian moves 6.12.y forward and the
# series is expected to keep applying (a reject fails later, loudly).
load_base() {
	local key value
	BASE_PACKAGE="" BASE_VERSION="" BASE_TARBALL=""
	[ -r "$BASE_FILE" ] || die "missing $BASE_FILE"
	while IFS='=' read -r key value; do
		case $key in
		package) BASE_PACKAGE=$value ;;
		version) BASE_VERSION=$value ;;
		tarball) BASE_TARBALL=$value ;;
		'' | '#'*) ;;
		*) die "unknown key '$key' in $BASE_FILE" ;;
		esac
	done <"$BASE_FILE"
	if [ -z "$BASE_PACKAGE" ] || [ -z "$BASE_VERSION" ] || [ -z "$BASE_TARBALL" ]; then
		die "$BASE_FILE needs package=, version= and tarball= lines"
	fi
	INSTALLED_VERSION=$(dpkg-query -W -f='${Version}' "$BASE_PACKAGE" 2>/dev/null) ||
		INSTALLED_VERSION=""
	if [ -z "$INSTALLED_VERSION" ] || [ ! -r "$BASE_TARBALL" ]; then
		die "$BASE_PACKAGE is not installed (or $BASE_TARBALL is missing): run scripts/ci-setup.sh"
	fi
	if [ "$INSTALLED_VERSION" != "$BASE_VERSION" ]; then
		warn "kernel/BASE pins $BASE_PACKAGE $BASE_VERSION but $INSTALLED_VERSION is installed;" \
			"building against the installed one (update kernel/BASE once the series is checked on it)"
	fi
}

# Prints the patch file names listed in the series, in order. Blank lines and comments
# are skipped; a quilt-style option after the name (such as -p1) is ignored.
series_patches() {
	local line name
	[ -f "$SERIES_FILE" ] || return 0
	while IFS= read -r line || [ -n "$line" ]; do
		line=${line%%#*}
		read -r name _ <<<"$line" || true
		[ -n "$name" ] || continue
		[ -f "$PATCH_DIR/$name" ] || die "series lists $name but $PATCH_DIR/$name does not exist"
		printf '%s\n' "$name"
	done <"$SERIES_FILE"
}

# Prints the first $1 patches of the series (all of them when $1 is empty).
series_prefix() {
	local count=${1:-}
	if [ -z "$count" ]; then
		series_patches
	else
		series_patches | head -n "$count"
	fi
}

# Copies the build inputs (BASE, the config fragment, the series and its patches) into
# the new directory $1 and points this script and its children (UMCG_INPUTS) at the copy,
# so that a build and its cache key see one version of the inputs even when the files are
# edited while it runs. Does nothing when the caller already works from a snapshot.
snapshot_inputs() {
	local dir=$1 name
	[ -z "${UMCG_INPUTS:-}" ] || return 0
	mkdir -p "$dir/patches" "$dir/configs"
	cp "$BASE_FILE" "$dir/BASE"
	cp "$INPUT_DIR"/configs/*.config "$dir/configs/"
	[ ! -f "$SERIES_FILE" ] || cp "$SERIES_FILE" "$dir/patches/series"
	while IFS= read -r name; do
		cp "$PATCH_DIR/$name" "$dir/patches/$name"
	done < <(series_patches)
	export UMCG_INPUTS=$dir
	INPUT_DIR=$dir
	PATCH_DIR=$dir/patches
	SERIES_FILE=$PATCH_DIR/series
	CONFIG_FRAGMENT=$dir/configs/umcg.config
	BASE_FILE=$dir/BASE
}

# Prints the overlay fragment of the configuration named by KCONFIG_NAME (nothing for
# "test"); fails for a name without configs/<name>.config.
kconfig_overlay() {
	[ "$KCONFIG_NAME" != test ] || return 0
	case $KCONFIG_NAME in
	umcg | *[!A-Za-z0-9_-]*) die "bad configuration name '$KCONFIG_NAME'" ;;
	esac
	[ -f "$INPUT_DIR/configs/$KCONFIG_NAME.config" ] ||
		die "no configuration '$KCONFIG_NAME' ($INPUT_DIR/configs/$KCONFIG_NAME.config)"
	printf '%s\n' "$INPUT_DIR/configs/$KCONFIG_NAME.config"
}

# Prints the cache key of a build: the sha256 over kernel/BASE, the installed base
# version, the config fragment (and the KCONFIG_NAME overlay), the series file, every patch
# of the prefix (name and content) and the scripts that define how the tree is prepared and
# built. $1: number of patches (empty = the whole series). $2: an optional extra fragment
# (build-each's UMCG=n).
cache_key() {
	local count=${1:-} extra=${2:-} overlay name
	overlay=$(kconfig_overlay) || exit 1
	load_base >/dev/null 2>&1
	{
		printf 'base\n'
		cat "$BASE_FILE"
		printf 'installed %s %s\n' "$INSTALLED_VERSION" "$(stat -c %s "$BASE_TARBALL")"
		printf 'config\n'
		cat "$CONFIG_FRAGMENT"
		[ -z "$overlay" ] || printf 'overlay %s\n' "$KCONFIG_NAME"
		[ -z "$overlay" ] || cat "$overlay"
		[ -z "$extra" ] || cat "$extra"
		printf 'series %s\n' "${count:-all}"
		[ ! -f "$SERIES_FILE" ] || cat "$SERIES_FILE"
		series_prefix "$count" | while IFS= read -r name; do
			printf 'patch %s\n' "$name"
			cat "$PATCH_DIR/$name"
		done
		printf 'scripts\n'
		cat "$SCRIPTS_DIR/lib.sh" "$SCRIPTS_DIR/prepare.sh" "$SCRIPTS_DIR/build.sh"
	} | sha256sum | cut -c1-"$KEY_LEN"
}

# Takes the kernel build lock (kernel/build/kbuild.lock) for the rest of the calling
# process and its children, plus the file named by $UMCG_KBUILD_LOCK when set (a
# machine-wide lock shared by several checkouts). Only one kernel build runs at a time per
# lock. A child script of a lock holder sees UMCG_KBUILD_LOCK_HELD and does not wait on
# the lock its parent holds.
take_kbuild_lock() {
	local lock fd
	[ -z "${UMCG_KBUILD_LOCK_HELD:-}" ] || return 0
	mkdir -p "$BUILD_DIR"
	for lock in ${UMCG_KBUILD_LOCK:+"$UMCG_KBUILD_LOCK"} "$BUILD_DIR/kbuild.lock"; do
		exec {fd}>>"$lock"
		if ! flock -n "$fd"; then
			info "waiting for the kernel build lock $lock"
			flock "$fd"
		fi
	done
	export UMCG_KBUILD_LOCK_HELD=$$
}

# Unpacks the base tarball into the new directory $1 (its top directory stripped).
unpack_base() {
	local tree=$1
	load_base
	rm -rf "$tree"
	mkdir -p "$tree"
	info "unpacking $BASE_TARBALL ($INSTALLED_VERSION) into $tree"
	tar -xf "$BASE_TARBALL" -C "$tree" --strip-components=1
}

# Prints the pristine base tree, kernel/build/base-<installed version>, unpacked once per
# version (under the kernel build lock) and never written to afterwards: checkpatch reads
# it, and prepared trees are hard-link clones of it (clone_base).
pristine_base() {
	local tree
	load_base
	tree=$BUILD_DIR/base-$INSTALLED_VERSION
	if [ ! -f "$tree/.umcg-unpacked" ]; then
		take_kbuild_lock
		if [ ! -f "$tree/.umcg-unpacked" ]; then
			need_space "$BUILD_DIR" 1800 "unpacking the base tree"
			unpack_base "$tree"
			touch "$tree/.umcg-unpacked"
		fi
	fi
	printf '%s\n' "$tree"
}

# Makes the new directory $1 a copy of the pristine base tree whose files are hard links
# to the base's: 1.7 GB of sources cost a few MB of directories. This is safe because
# nothing writes into a source file of a prepared tree: patch(1) writes a patched file
# anew and renames it over the link (so the base keeps its copy), and the kernel build
# only creates files (checked: after a build, diff -rq of the two trees lists the patched
# files and nothing else). Never edit a file of a src-* tree in place.
clone_base() {
	local tree=$1 base
	base=$(pristine_base)
	rm -rf "$tree"
	info "cloning $base into $tree (hard links)"
	cp -al "$base" "$tree"
	rm -f "$tree/.umcg-unpacked"
}

# Fails with a clear message when the file system holding $1 has less than $2 MB free;
# $3 says what the space is for.
need_space() {
	local dir=$1 want=$2 what=$3 have
	mkdir -p "$dir"
	have=$(df -Pm "$dir" | awk 'NR == 2 { print $4 }')
	[ "$have" -ge "$want" ] ||
		die "$what needs about $want MB free in $dir, but its file system has $have MB"
}

# Applies patch $2 (a name from the series) to tree $1. A patch that does not apply
# cleanly (reject, or already applied) stops everything; fuzz or offsets are warnings.
apply_patch() {
	local tree=$1 name=$2 out
	info "applying $name"
	if ! out=$(patch -d "$tree" -p1 --forward --batch --no-backup-if-mismatch \
		-i "$PATCH_DIR/$name" 2>&1); then
		printf '%s\n' "$out" >&2
		die "PATCH REJECTED: $name does not apply to $BASE_PACKAGE $INSTALLED_VERSION" \
			"(output above; rejected hunks are in $tree/*.rej)"
	fi
	if grep -E 'with fuzz|offset' <<<"$out" >&2; then
		warn "$name applied with offsets or fuzz (lines above): refresh it against $INSTALLED_VERSION"
	fi
}

# Runs make in kernel tree $1 with the remaining arguments, quietly unless V is set.
kmake() {
	local tree=$1 quiet=(-s)
	shift
	[ -z "${V:-}" ] || quiet=(V="$V")
	make -C "$tree" "${quiet[@]}" "$@"
}

# Lists the CONFIG_ assignments of a fragment as NAME=value lines ("n" for "is not set").
fragment_options() {
	sed -n -e 's/^\(CONFIG_[A-Za-z0-9_]*\)=\(.*\)$/\1=\2/p' \
		-e 's/^# \(CONFIG_[A-Za-z0-9_]*\) is not set$/\1=n/p' "$@"
}

# True when the tree $1 defines the Kconfig symbol $2 (without CONFIG_) anywhere.
tree_defines_symbol() {
	grep -rqsE --include='Kconfig*' "^[[:space:]]*(menu)?config[[:space:]]+$2[[:space:]]*$" "$1"
}

# Merges the fragment(s) over tinyconfig in tree $1 and checks that every requested
# option has the requested value in the final .config. CONFIG_UMCG is only checked when
# the tree defines it (the series introduces it). The KCONFIG_NAME overlay comes after
# umcg.config; $2...: extra fragments, applied last.
configure_tree() {
	local tree=$1 opt name want got bad=0 overlay
	shift
	overlay=$(kconfig_overlay) || exit 1
	[ -z "$overlay" ] || set -- "$overlay" "$@"
	kmake "$tree" tinyconfig
	(cd "$tree" && scripts/kconfig/merge_config.sh -m -O . .config "$CONFIG_FRAGMENT" "$@") >/dev/null
	kmake "$tree" olddefconfig
	while IFS= read -r opt; do
		name=${opt%%=*}
		want=${opt#*=}
		if [ "$name" = CONFIG_UMCG ] && ! tree_defines_symbol "$tree" UMCG; then
			info "the series does not define CONFIG_UMCG (yet): not checking it"
			continue
		fi
		got=$(sed -n -e "s/^$name=//p" -e "s/^# $name is not set\$/n/p" "$tree/.config")
		[ -n "$got" ] || got=n
		if [ "$got" != "$want" ]; then
			printf '%s: config: %s=%s requested, but the final .config has %s\n' \
				"${0##*/}" "$name" "$want" "$got" >&2
			bad=1
		fi
	done < <(fragment_options "$CONFIG_FRAGMENT" "$@" | awk -F= '{v[$1]=$0} END {for (k in v) print v[k]}' | sort)
	[ "$bad" -eq 0 ] || die "the kernel configuration lacks requested options (missing dependencies?)"
}
