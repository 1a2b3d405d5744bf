#!/usr/bin/env bash
# Boots a kernel and initramfs (from mkinitramfs.sh) under QEMU TCG, streams the serial
# console and keeps it in a log, and exits with the status of the guest command, read
# from the "UMCG-GUEST-EXIT=<status>" marker. It fails when the marker is missing (crash,
# hang, timeout) and when the kernel logged any warning, BUG, oops, lockdep or RCU report,
# hung task, KASAN report or panic, whatever the guest command returned; the offending
# console lines are printed.
#
# Usage: run-guest.sh -k bzImage -i initramfs.cpio [options]
#   --smp N         virtual CPUs, one per socket (default 2; sockets=N, which needs no ACPI)
#   --icount        -icount shift=0: the guest clock counts instructions (for benchmarks)
#   --mem SIZE      guest memory (default 1G)
#   --timeout SEC   kill QEMU after SEC seconds (default 1800)
#   --log FILE      console log (default kernel/build/guest-console.log)
#   --append ARGS   extra kernel command line
#   --quiet         do not stream the console (it is still logged and scanned)
# Environment: UMCG_QEMU_ARGS (extra QEMU arguments, split on spaces; e.g. a TCG plugin:
#              "-plugin /path/libinsn.so")
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
	sed -n '2,19s/^# \{0,1\}//p' "$0" >&2
	exit "${1:-2}"
}

kernel="" initrd="" smp=2 icount=0 mem=1G timeout=1800 quiet_run=0 append=""
log=$BUILD_DIR/guest-console.log
while [ $# -gt 0 ]; do
	case $1 in
	-k | --kernel) kernel=${2:?}; shift 2 ;;
	-i | --initrd) initrd=${2:?}; shift 2 ;;
	--smp) smp=${2:?}; shift 2 ;;
	--icount) icount=1; shift ;;
	--mem) mem=${2:?}; shift 2 ;;
	--timeout) timeout=${2:?}; shift 2 ;;
	--log) log=${2:?}; shift 2 ;;
	--append) append=${2?}; shift 2 ;;
	--quiet) quiet_run=1; shift ;;
	-h | --help) usage 0 ;;
	*) usage ;;
	esac
done
{ [ -f "$kernel" ] && [ -f "$initrd" ]; } || usage
command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 not found: run scripts/ci-setup.sh"

# Kernel reports that fail the run. They are matched only on kernel lines, which carry the
# printk timestamp (CONFIG_PRINTK_TIME), so the guest programs' own output cannot match.
splat_patterns=(
	'WARNING:'
	'BUG:'
	'kernel BUG at'
	'Oops'
	'general protection fault'
	'Unable to handle kernel'
	'possible recursive locking'
	'inconsistent lock state'
	'circular locking'
	'suspicious RCU usage'
	'sleeping function called from invalid context'
	'INFO: task .* blocked'
	'detected stalls?'
	'KASAN'
	'UBSAN'
	'list_(add|del) corruption'
	'Kernel panic'
	'Call Trace:'
)

accel=(-accel tcg)
[ "$icount" -eq 0 ] || accel+=(-icount shift=0)
mkdir -p "$(dirname "$log")"
: >"$log"
if [ "$quiet_run" -eq 0 ]; then
	serial=(-chardev "stdio,id=console,signal=off,logfile=$log" -serial chardev:console)
else
	serial=(-serial "file:$log")
fi
qemu=(qemu-system-x86_64 "${accel[@]}" -m "$mem" -smp "$smp,sockets=$smp"
	-kernel "$kernel" -initrd "$initrd"
	-append "console=ttyS0 panic=-1 $append"
	-nographic -no-reboot -monitor none "${serial[@]}")
# shellcheck disable=SC2206
[ -z "${UMCG_QEMU_ARGS:-}" ] || qemu+=($UMCG_QEMU_ARGS)

info "booting: ${qemu[*]}"
start=$SECONDS
qemu_status=0
timeout -k 10 "$timeout" "${qemu[@]}" </dev/null || qemu_status=$?
elapsed=$((SECONDS - start))

failed=0
marker=$(tr -d '\r' <"$log" | sed -n 's/^UMCG-GUEST-EXIT=\([0-9][0-9]*\)$/\1/p' | tail -n 1)
if [ "$qemu_status" -eq 124 ] || [ "$qemu_status" -eq 137 ]; then
	printf '\n==== GUEST TIMED OUT after %s s (--timeout %s)\n' "$elapsed" "$timeout" >&2
	failed=1
elif [ "$qemu_status" -ne 0 ]; then
	printf '\n==== QEMU exited with status %s\n' "$qemu_status" >&2
	failed=1
fi
if [ -z "$marker" ]; then
	printf '==== NO UMCG-GUEST-EXIT MARKER: the guest did not finish its command (crash or hang?)\n' >&2
	failed=1
	status=1
else
	status=$marker
fi

pattern=$(IFS='|'; printf '\\[ *[0-9]+\\.[0-9]+\\].*(%s)' "${splat_patterns[*]}")
if splats=$(tr -d '\r' <"$log" | grep -nE "$pattern"); then
	printf '==== KERNEL SPLAT in the console log (%s):\n%s\n' "$log" "$splats" >&2
	failed=1
fi

info "guest command status ${marker:-none}, ${elapsed}s, console log: $log"
if [ "$failed" -ne 0 ]; then
	[ "$status" -ne 0 ] || status=1
fi
exit "$status"
