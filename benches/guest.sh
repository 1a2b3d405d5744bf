#!/usr/bin/env bash
# Runs the report inside the UMCG kernel under QEMU TCG, with the guest clock counting
# instructions (-icount shift=0), and writes the results into RESULTS.md:
#   section guest-smp1: -smp 1; umcg on the kernel backend, umcg on the emulation, and tokio;
#   section guest-smp2: -smp 2,sockets=2 (two servers); each figure the median of 3 runs with
#                       its spread (two vCPUs under icount run one at a time: 1-2 % noise).
# Uses kernel/scripts/{build,mkinitramfs,run-guest}.sh; the kernel build runs under
# flock on the kernel build lock (UMCG_KBUILD_LOCK_FILE, default /work/coord/kbuild.lock,
# skipped when that file does not exist).
#
# Usage: benches/guest.sh [smp1] [smp2]      (default both)
# Environment: BENCH_QUICK=1 (short measurements), BENCH_KEEP_ALIVE_MS, BENCH_IDLE_WAIT_MS (all
#              passed into the guest),
#              BENCH_GUEST_ONLY (report --only list), BENCH_GUEST_TIMEOUT (s, default 3000),
#              BENCH_KERNEL_DIR (a directory with a bzImage: no build),
#              BENCH_KCONFIG (kernel configuration: bench, the default, or test),
#              BENCH_NO_UMCG=1 (tokio and the floor only), BENCH_SNAPSHOT=1 (build HEAD, not the
#              working tree: see common.sh).
set -euo pipefail

# The whole script is one function, parsed before it runs: editing the file while it runs
# (a long guest run) cannot change what the running copy does.
main() {
    cd "$(dirname "$0")"
    bench_dir=$PWD
    repo=$(cd .. && pwd)
    ks=$repo/kernel/scripts
    export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$bench_dir/target}"
    # shellcheck source=common.sh
    . "$bench_dir/common.sh"
    say() { printf 'guest.sh: %s\n' "$*" >&2; }

    for s in build.sh mkinitramfs.sh run-guest.sh; do
        [ -x "$ks/$s" ] || { say "missing $ks/$s"; exit 1; }
    done
    runs=("$@")
    [ ${#runs[@]} -gt 0 ] || runs=(smp1 smp2)

    BENCH_DIR=$bench_dir REPO_DIR=$repo build_report
    report=$REPORT

    # A cached kernel for the current series needs no build and no lock; otherwise build it
    # under the machine's kernel build lock. BENCH_KERNEL_DIR names a directory with a bzImage
    # to use instead.
    lock=${UMCG_KBUILD_LOCK_FILE:-/work/coord/kbuild.lock}
    # The benchmark kernel by default: the test configuration's lockdep and other debug options
    # would be what is measured (kernel/configs/bench.config).
    export UMCG_KCONFIG=${BENCH_KCONFIG:-bench}
    key=$(bash -c '. "$1/lib.sh" && cache_key ""' _ "$ks" 2>/dev/null || true)
    if [ -n "${BENCH_KERNEL_DIR:-}" ]; then
        kcache=$BENCH_KERNEL_DIR
    elif [ -n "$key" ] && [ -f "$repo/kernel/build/cache/$key/bzImage" ]; then
        kcache=$repo/kernel/build/cache/$key
    elif [ -e "$lock" ]; then
        say "building the kernel under $lock (waits for other kernel builds)"
        kcache=$(flock "$lock" "$ks/build.sh" | tail -n 1)
    else
        kcache=$("$ks/build.sh" | tail -n 1)
    fi
    [ -f "$kcache/bzImage" ] || { say "no bzImage in '$kcache'"; exit 1; }
    local kname
    kname=$(sed -n 's/^key=//p' "$kcache/BUILD-INFO" 2>/dev/null || true)
    kname=${kname:+build cache $kname, configuration $UMCG_KCONFIG}
    kname=${kname:-$kcache/bzImage}

    work=$CARGO_TARGET_DIR/guest
    mkdir -p "$work"
    env_in_guest="BENCH_QUICK=${BENCH_QUICK:-} BENCH_IDLE_WAIT_MS=${BENCH_IDLE_WAIT_MS:-} BENCH_KEEP_ALIVE_MS=${BENCH_KEEP_ALIVE_MS:-} BENCH_JOB_TIMEOUT_S=${BENCH_JOB_TIMEOUT_S:-} RUST_BACKTRACE=1"
    only=${BENCH_GUEST_ONLY:+--only $BENCH_GUEST_ONLY}

    for run in "${runs[@]}"; do
        case $run in
        smp1) smp=1 repeat=1 place="guest: QEMU TCG -smp 1 -icount shift=0, kernel $kname" ;;
        smp2) smp=2 repeat=3 place="guest: QEMU TCG -smp 2,sockets=2 -icount shift=0 (2 servers), kernel $kname" ;;
        *) say "unknown run '$run' (smp1 or smp2)"; exit 2 ;;
        esac
        cmd="$env_in_guest /opt/umcg/bin/report --markers --contenders tokio,umcg-kernel,umcg-emulated"
        cmd+=" --repeat $repeat --tmpdir /tmp/umcg-benches --place '$place' --source '$SOURCE' $only"
        "$ks/mkinitramfs.sh" -o "$work/$run.cpio" -c "$cmd" -e "$report=/opt/umcg/bin"
        say "running the report in the guest ($run)"
        status=0
        "$ks/run-guest.sh" -k "$kcache/bzImage" -i "$work/$run.cpio" --smp "$smp" --icount \
            --mem 2G --quiet --timeout "${BENCH_GUEST_TIMEOUT:-3000}" --log "$work/$run.log" || status=$?
        tr -d '\r' <"$work/$run.log" |
            sed -n '/^==== umcg-benches report begin ====$/,/^==== umcg-benches report end ====$/p' |
            sed '1d;$d' >"$work/$run.md"
        if [ ! -s "$work/$run.md" ]; then
            say "no report in the console log $work/$run.log (guest status $status)"
            exit 1
        fi
        cat "$work/$run.md"
        "$report" --splice "$work/$run.md" --out "$bench_dir/RESULTS.md" --section "guest-$run"
        [ "$status" -eq 0 ] || say "the guest run failed (status $status): see $work/$run.log"
    done
}

main "$@"
