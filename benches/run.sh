#!/usr/bin/env bash
# Runs every bench on the host in one go and writes the report:
#   1. criterion: benches/{rt_multi_threaded,spawn_blocking,blocking,floor}.rs, tokio and umcg
#      side by side (HTML reports in $CARGO_TARGET_DIR/criterion);
#   2. the report binary: every workload again, tokio and umcg interleaved workload by workload,
#      plus the futex floor, printed as a markdown table with ratios and the targets met/missed,
#      and written to RESULTS.md as the section "host" (criterion's means in extra columns).
#      Each job runs BENCH_REPEAT times (default 3), interleaved, and the table gives the median
#      with the spread: about one job run in eight, tokio's and umcg's alike, takes 1.5-3x its
#      usual time here (README), and a single run could turn a met target into a miss.
# Environment: BENCH_QUICK=1 for a smoke run (short measurements); BENCH_SKIP_CRITERION=1 to
# run only the report; BENCH_KEEP_ALIVE_MS (idle timeout of both runtimes for the burst, default
# 1000) and BENCH_IDLE_WAIT_MS (wait before threads are recounted, default keep-alive + 2000);
# BENCH_NO_UMCG=1 to leave the umcg side out; BENCH_SNAPSHOT=1 to build the repository's HEAD
# instead of the working tree (common.sh); BENCH_PLACE to describe the machine; BENCH_JOB_TIMEOUT_S.
# Extra arguments go to the report binary (e.g. --only rt_multi,round_trip).
set -euo pipefail

# The whole script is one function, parsed before it runs: editing the file while it runs
# (a long guest run) cannot change what the running copy does.
main() {
    cd "$(dirname "$0")"
    local bench_dir=$PWD
    export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$bench_dir/target}"
    # shellcheck source=common.sh
    . "$bench_dir/common.sh"
    BENCH_DIR=$bench_dir REPO_DIR=$(cd .. && pwd) build_report
    if [ -z "${BENCH_SKIP_CRITERION:-}" ]; then
        cargo bench "${FEATURE_ARGS[@]}" --benches
    fi
    local place="host, ${BENCH_PLACE:-shared 2-vCPU machine: smoke numbers}"
    "$REPORT" --repeat "${BENCH_REPEAT:-3}" --out "$bench_dir/RESULTS.md" --section host --place "$place" --source "$SOURCE" \
        --criterion-dir "$CARGO_TARGET_DIR/criterion" --tmpdir "$CARGO_TARGET_DIR/bench-tmp" "$@"
}

main "$@"
