#!/usr/bin/env bash
# Runs every bench on the host in one go and writes the report:
#   1. criterion: benches/{rt_multi_threaded,spawn_blocking,blocking,floor}.rs, tokio and umcg
#      side by side (HTML reports in $CARGO_TARGET_DIR/criterion);
#   2. the report binary: every workload again, tokio and umcg interleaved workload by workload,
#      plus the futex floor, printed as a markdown table with ratios and the targets met/missed,
#      and written to RESULTS.md as the section "host" (criterion's means in extra columns).
# Environment: BENCH_QUICK=1 for a smoke run (short measurements); BENCH_SKIP_CRITERION=1 to
# run only the report; BENCH_KEEP_ALIVE_MS (idle timeout of both runtimes for the burst, default
# 1000) and BENCH_IDLE_WAIT_MS (wait before threads are recounted, default keep-alive + 2000); BENCH_NO_UMCG=1 to leave the umcg side out; extra arguments go to the
# report binary (e.g. --only rt_multi,round_trip).
set -euo pipefail

# The whole script is one function, parsed before it runs: editing the file while it runs
# (a long guest run) cannot change what the running copy does.
main() {
    cd "$(dirname "$0")"
    export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"

    feature_args=()
    if [ -n "${BENCH_NO_UMCG:-}" ] || ! cargo build --release --bin report >/dev/null 2>&1; then
        echo "${0##*/}: without the umcg side (BENCH_NO_UMCG set, or the umcg runtime does not build): tokio and the floor only" >&2
        feature_args=(--no-default-features)
    fi
    cargo build --release "${feature_args[@]}" --bin report
    if [ -z "${BENCH_SKIP_CRITERION:-}" ]; then
        cargo bench "${feature_args[@]}" --benches
    fi
    place="host (shared 2-vCPU machine: smoke numbers)"
    "$CARGO_TARGET_DIR/release/report" --out RESULTS.md --section host --place "$place" \
        --criterion-dir "$CARGO_TARGET_DIR/criterion" --tmpdir "$CARGO_TARGET_DIR/bench-tmp" "$@"
}

main "$@"
