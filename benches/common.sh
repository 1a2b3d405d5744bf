# shellcheck shell=bash
# shellcheck disable=SC2034 # REPORT, SOURCE and FEATURE_ARGS are read by the sourcing script
# Shared by run.sh and guest.sh (sourced, never run): picks the source to build and builds the
# report binary.
#
# build_report sets REPORT (the binary), SOURCE (what was built, for the report's header) and
# FEATURE_ARGS (cargo arguments, for `cargo bench`), and leaves the shell in the benches
# directory that was built. It needs BENCH_DIR and REPO_DIR. With BENCH_SNAPSHOT=1 it builds
# a copy of the repository's HEAD (`git archive`) instead of the working tree, so that other
# people's uncommitted edits cannot break or change the build. When the umcg side does not
# build (or BENCH_NO_UMCG=1) it builds tokio and the floor only, and says so.

build_report() {
    local src=$BENCH_DIR head
    head=$(git -C "$REPO_DIR" rev-parse --short HEAD 2>/dev/null || echo unknown)
    if [ -n "${BENCH_SNAPSHOT:-}" ]; then
        # One directory per commit, extracted once: concurrent runs of the same commit share it.
        local snap=$CARGO_TARGET_DIR/snapshot-$head
        if [ ! -f "$snap/.complete" ]; then
            rm -rf "$snap.tmp.$$"
            mkdir -p "$snap.tmp.$$"
            git -C "$REPO_DIR" archive HEAD | tar -x -C "$snap.tmp.$$"
            touch "$snap.tmp.$$/.complete"
            mv -T "$snap.tmp.$$" "$snap" 2>/dev/null || rm -rf "$snap.tmp.$$"
        fi
        src=$snap/benches
        SOURCE="commit $head (a snapshot of HEAD)"
    elif [ -n "$(git -C "$REPO_DIR" status --porcelain -- umcg-sys umcg-executor benches 2>/dev/null)" ]; then
        SOURCE="commit $head + uncommitted changes in the working tree"
    else
        SOURCE="commit $head"
    fi
    cd "$src" || return 1
    FEATURE_ARGS=()
    if [ -n "${BENCH_NO_UMCG:-}" ] || ! cargo build --release --bin report >/dev/null 2>&1; then
        printf '%s: without the umcg side (BENCH_NO_UMCG set, or the umcg runtime does not build): tokio and the floor only\n' \
            "${0##*/}" >&2
        FEATURE_ARGS=(--no-default-features)
        SOURCE="$SOURCE, without the umcg side"
    fi
    cargo build --release "${FEATURE_ARGS[@]}" --bin report
    REPORT=$CARGO_TARGET_DIR/release/report
}
