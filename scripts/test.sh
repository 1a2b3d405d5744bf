#!/usr/bin/env bash
# The project's test command: host checks and tests, then the UMCG kernel built and booted
# under QEMU with the selftests and the Rust suites inside it.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==== %s\n' "$*"; }

step "rustfmt"
cargo fmt --all -- --check
step "clippy"
cargo clippy --workspace --all-targets -- -D warnings
step "host tests (cargo test --workspace)"
cargo test --workspace
step "examples on the host, as a user runs them"
for ex in hello backend blocking_io "echo_server --selftest 100"; do
	# shellcheck disable=SC2086 # the example's name and arguments are split on purpose
	set -- $ex
	cargo run -q -p examples --example "$1" -- "${@:2}"
done
step "loom: umcg-sys emulation list push"
RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=2 CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}/loom" \
	cargo test --release -p umcg-sys --lib loom_model
step "loom: umcg-executor queues, task state, park/notify"
RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=2 CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}/loom" \
	cargo test --release -p umcg-executor --lib loom
step "docs"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --quiet
step "kernel/profile: the instruction-count plugin builds, symbolize.py counts right"
kernel/profile/check.sh
step "checkpatch --strict over the series (kernel/scripts/checkpatch.sh)"
kernel/scripts/checkpatch.sh
step "guest: the UMCG kernel (cached build) under QEMU: kselftests and Rust tests (kernel/scripts/test-guest.sh)"
kernel/scripts/test-guest.sh
step "ABI: umcg-sys's abi.rs against the built series' linux/umcg.h"
UMCG_KERNEL_HEADERS="$(kernel/scripts/build.sh | tail -n 1)/headers" UMCG_REQUIRE_KERNEL_HEADER=1 \
	cargo test -p umcg-sys --test abi_header
