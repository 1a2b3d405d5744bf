#!/usr/bin/env bash
# Where the guest's instructions go: boots the kernel twice under QEMU with the insn_count
# TCG plugin (kernel/profile/insn_count.c), running CMD with {n} replaced by N1 and then by
# N2, and prints the instructions that one iteration costs ((second - first) / (N2 - N1)),
# by kind of work and by kernel function (kernel/profile/symbolize.py, with the kernel's
# System.map). Instruction counts, unlike sampled profiles, are exact and do not pile up
# where interrupts get re-enabled; with -icount the guest's timing, and so its
# interleaving, is the same in both boots.
#
# Usage: insn-profile.sh [options] --cmd 'CMD'
#   --cmd 'CMD'      the guest command; {n} in it becomes the iteration count
#   --runs N1,N2     iteration counts of the two boots (default 2000,22000)
#   --add EXE        put EXE (with its libraries) into /opt/umcg/bin/ (repeatable)
#   --config NAME    kernel configuration (default bench: timing without the debug options)
#   --smp N          virtual CPUs (default 1)
#   --top K          functions listed (default 40)
# Example:
#   cargo build --release -p umcg-sys --example roundtrip
#   kernel/scripts/insn-profile.sh --add target/release/examples/roundtrip \
#       --cmd 'roundtrip {n} kernel'
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
	sed -n '2,20s/^# \{0,1\}//p' "$0" >&2
	exit "${1:-2}"
}

cmd="" runs=2000,22000 adds=() config=bench smp=1 top=40
while [ $# -gt 0 ]; do
	case $1 in
	--cmd) cmd=${2:?}; shift 2 ;;
	--runs) runs=${2:?}; shift 2 ;;
	--add) adds+=(--add "${2:?}"); shift 2 ;;
	--config) config=${2:?}; shift 2 ;;
	--smp) smp=${2:?}; shift 2 ;;
	--top) top=${2:?}; shift 2 ;;
	-h | --help) usage 0 ;;
	*) usage ;;
	esac
done
[ -n "$cmd" ] || usage
case $cmd in *'{n}'*) ;; *) die "--cmd needs {n}, the iteration count" ;; esac
IFS=, read -r n1 n2 <<<"$runs"
[[ $n1 =~ ^[0-9]+$ && $n2 =~ ^[0-9]+$ && $n2 -gt $n1 ]] || die "--runs wants N1,N2 with N2 > N1"

kdir=$("$SCRIPTS_DIR/build.sh" --config "$config" | tail -n 1)
[ -f "$kdir/System.map" ] || die "no System.map in $kdir"
out=$BUILD_DIR/profile/$(date -u +%Y%m%dT%H%M%S)-$$
mkdir -p "$out"
plugin=$out/insn_count.so
gcc -O2 -Wall -shared -fPIC -o "$plugin" "$KERNEL_DIR/profile/insn_count.c"

for n in "$n1" "$n2"; do
	info "boot with {n}=$n"
	UMCG_QEMU_ARGS="-plugin $plugin,arg=out=$out/$n.counts" \
		"$SCRIPTS_DIR/test-guest.sh" --config "$config" --no-rust --icount --smp "$smp" \
		--quiet "${adds[@]}" --cmd "${cmd//\{n\}/$n}" >"$out/$n.log" 2>&1 ||
		die "the guest run with {n}=$n failed: $out/$n.log"
	[ -s "$out/$n.counts" ] || die "the plugin wrote no counts: $out/$n.log"
done
python3 "$KERNEL_DIR/profile/symbolize.py" "$kdir/System.map" "$out/$n1.counts" \
	"$out/$n2.counts" "$((n2 - n1))" "$top"
info "counts and guest logs: $out"
