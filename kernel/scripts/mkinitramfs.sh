#!/usr/bin/env bash
# Builds the guest's initramfs (an uncompressed newc cpio): busybox-static, an /init that
# mounts proc, sysfs, devtmpfs and a tmpfs on /tmp and /dev/shm, brings up `lo`, runs the
# guest command with /bin/sh, prints the marker line "UMCG-GUEST-EXIT=<status>" and
# reboots (QEMU runs with -no-reboot, so that ends the VM).
#
# Usage: mkinitramfs.sh -o OUT.cpio -c 'COMMAND' [-f HOST=GUEST]... [-e HOST=GUESTDIR]...
#   -c CMD         the shell command the guest runs (from /, PATH includes /opt/umcg/bin)
#   -f HOST=GUEST  copy a file or a directory tree to the guest path GUEST
#   -e HOST=DIR    copy the dynamically linked executable HOST into the guest directory
#                  DIR, with the shared libraries and loader `ldd` lists (at their host
#                  paths); debug info is stripped from the copy unless --keep-debug
#   -l HOST        copy only the shared libraries and loader of the executable HOST (for
#                  executables that a -f tree already brings)
#   --keep-debug   keep debug info in the -e copies (bigger image, line numbers in panics)
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
	sed -n '2,16s/^# \{0,1\}//p' "$0" >&2
	exit "${1:-2}"
}

out="" cmd="" keep_debug=0 files=() exes=() lib_users=()
while [ $# -gt 0 ]; do
	case $1 in
	-o) out=${2:?}; shift 2 ;;
	-c) cmd=${2?}; shift 2 ;;
	-f) files+=("${2:?}"); shift 2 ;;
	-e) exes+=("${2:?}"); shift 2 ;;
	-l) lib_users+=("${2:?}"); shift 2 ;;
	--keep-debug) keep_debug=1; shift ;;
	-h | --help) usage 0 ;;
	*) usage ;;
	esac
done
{ [ -n "$out" ] && [ -n "$cmd" ]; } || usage

busybox=$(command -v busybox) || die "busybox not found: install busybox-static (scripts/ci-setup.sh)"
if ldd "$busybox" >/dev/null 2>&1; then
	die "$busybox is dynamically linked: install busybox-static"
fi

# Prints the ELF executable $1's shared libraries and program interpreter, one absolute
# path a line (nothing for a static executable). A library the loader does not find on
# the host (a Rust proc-macro crate's test links libstd-*.so, which cargo finds through
# LD_LIBRARY_PATH) is looked up in LD_LIBRARY_PATH and the Rust toolchain's sysroot.
elf_libraries() {
	local line name dir found
	while IFS= read -r line; do
		case $line in
		*'=> not found'*)
			read -r name _ <<<"$line"
			found=""
			for dir in $(rust_library_dirs); do
				if [ -f "$dir/$name" ]; then
					found=$dir/$name
					break
				fi
			done
			[ -n "$found" ] || die "$1 needs $name, which is nowhere on the host"
			printf '%s\n' "$found"
			elf_libraries "$found"
			;;
		*'=> /'*) line=${line#*=> }; printf '%s\n' "${line%% (0x*}" ;;
		[[:space:]]/*) read -r name _ <<<"$line"; printf '%s\n' "$name" ;;
		esac
	done < <(ldd "$1" 2>/dev/null || true)
}

# Prints the directories where libraries missing from the loader's path may be:
# LD_LIBRARY_PATH and the Rust toolchain's library directories (once per process).
rust_library_dirs() {
	local sysroot
	if [ -z "${RUST_LIBRARY_DIRS+set}" ]; then
		RUST_LIBRARY_DIRS=${LD_LIBRARY_PATH:-}
		RUST_LIBRARY_DIRS=${RUST_LIBRARY_DIRS//:/ }
		if sysroot=$(rustc --print sysroot 2>/dev/null); then
			RUST_LIBRARY_DIRS+=" $sysroot/lib $sysroot/lib/rustlib/$(rustc -vV | sed -n 's/^host: //p')/lib"
		fi
	fi
	printf '%s\n' "$RUST_LIBRARY_DIRS"
}

root=$(mktemp -d "${TMPDIR:-/tmp}/umcg-initramfs.XXXXXX")
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,tmp,root,etc,opt/umcg/bin}

# Busybox and a link for each of its applets.
cp "$busybox" "$root/bin/busybox"
"$busybox" --list-full | while IFS= read -r applet; do
	[ -e "$root/$applet" ] || ln -s /bin/busybox "$root/$applet"
done
# kselftest's runner calls GNU `timeout --foreground`, which busybox's timeout lacks.
rm -f "$root/usr/bin/timeout"
cat >"$root/usr/bin/timeout" <<'EOF'
#!/bin/sh
# GNU timeout's --foreground only matters on a terminal; busybox has no such option.
[ "$1" = --foreground ] && shift
exec /bin/busybox timeout "$@"
EOF
chmod +x "$root/usr/bin/timeout"

cat >"$root/etc/hosts" <<'EOF'
127.0.0.1	localhost
::1	localhost ip6-localhost ip6-loopback
EOF
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$root/etc/passwd"
printf 'root:x:0:\n' >"$root/etc/group"
if [ "$(id -u)" -eq 0 ]; then
	mknod -m 600 "$root/dev/console" c 5 1
	mknod -m 666 "$root/dev/null" c 1 3
fi

# Copies $1 to the guest path $2, keeping its mode; directories recursively.
put() {
	mkdir -p "$(dirname "$root/$2")"
	cp -rL --preserve=mode "$1" "$root/$2"
}

for spec in "${files[@]}"; do
	[ -e "${spec%%=*}" ] || die "no such file: ${spec%%=*}"
	put "${spec%%=*}" "${spec#*=}"
done
for spec in "${exes[@]}"; do
	exe=${spec%%=*}
	dir=${spec#*=}
	[ -x "$exe" ] || die "not an executable: $exe"
	put "$exe" "$dir/${exe##*/}"
	if [ "$keep_debug" -eq 0 ]; then
		strip --strip-debug "$root/$dir/${exe##*/}"
	fi
	lib_users+=("$exe")
done
# Libraries keep their host path when the guest's loader searches it by default; the others
# (a Rust toolchain's libstd) go to /usr/lib.
for exe in "${lib_users[@]}"; do
	libs=$(elf_libraries "$exe")
	while IFS= read -r lib; do
		[ -n "$lib" ] || continue
		case ${lib%/*} in
		/lib | /lib64 | /usr/lib | /lib/x86_64-linux-gnu | /usr/lib/x86_64-linux-gnu) dest=$lib ;;
		*) dest=/usr/lib/${lib##*/} ;;
		esac
		[ -e "$root/$dest" ] || put "$lib" "$dest"
	done <<<"$libs"
done

printf '%s\n' "$cmd" >"$root/etc/umcg-command"
cat >"$root/init" <<'EOF'
#!/bin/sh
# Guest init: mount the pseudo filesystems, run /etc/umcg-command, report its status.
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1
mkdir -p /dev/shm /dev/pts
# devtmpfs has no /dev/fd or /dev/std*; kselftest's runner writes each test's output to
# /dev/stdout, which would otherwise vanish and leave a failing test without its log.
ln -sf /proc/self/fd /dev/fd
ln -sf /proc/self/fd/0 /dev/stdin
ln -sf /proc/self/fd/1 /dev/stdout
ln -sf /proc/self/fd/2 /dev/stderr
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /dev/shm
ip link set lo up 2>/dev/null || ifconfig lo 127.0.0.1 up || echo "init: could not bring up lo"
hostname umcg-guest
export PATH=/opt/umcg/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root TMPDIR=/tmp
cd /
echo "init: running /etc/umcg-command on $(uname -r), $(nproc) CPUs"
/bin/sh /etc/umcg-command
status=$?
echo "UMCG-GUEST-EXIT=$status"
sync
reboot -f
EOF
chmod +x "$root/init"

mkdir -p "$(dirname "$out")"
(cd "$root" && find . -mindepth 1 | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0) >"$out"
info "initramfs: $out ($(du -h "$out" | cut -f1))"
