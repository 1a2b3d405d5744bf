#!/usr/bin/env bash
# The full guest test: builds the UMCG kernel (cached, build.sh) and the workspace's Rust
# test binaries (cargo test --workspace --no-run, honouring CARGO_TARGET_DIR), boots the
# kernel once under QEMU and runs in it the umcg kselftests (TAP), then every Rust test
# binary with --test-threads=2, then the four examples as a user runs them (each checked for
# the output line that shows it worked on the expected backend). When the kernel has CONFIG_UMCG=y the tests run with
# UMCG_REQUIRE_KERNEL=1 (a test that would skip for lack of kernel UMCG fails instead) and
# /sys/kernel/umcg/version must exist; a kernel without it runs them without that variable
# and says so. Fails if any test fails or the kernel logs a splat (run-guest.sh).
#
# Usage: test-guest.sh [options]
#   --cmd 'CMD'      run CMD in the guest instead of the tests (the test binaries are still
#                    there: /opt/umcg/rust/, /opt/umcg/selftests/; extra ones in /opt/umcg/bin/)
#   --add EXE        put the executable EXE (with its libraries) into /opt/umcg/bin/
#   --no-rust        do not build or include the Rust test binaries
#   --smp N, --icount, --mem SIZE, --quiet    passed to run-guest.sh
#   --timeout SEC    stop the guest after SEC seconds (default 1200)
#   --keep-debug     keep debug info in the guest's copies of the binaries
#   --config NAME    kernel configuration (build.sh --config): test (default) or bench, the
#                    kernel without lockdep and the other debug options, for benchmarks only
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
	sed -n '2,20s/^# \{0,1\}//p' "$0" >&2
	exit "${1:-2}"
}

cmd="" rust=1 adds=() guest_opts=() mk_opts=() timeout=1200
while [ $# -gt 0 ]; do
	case $1 in
	--cmd) cmd=${2:?}; shift 2 ;;
	--add) adds+=("${2:?}"); shift 2 ;;
	--no-rust) rust=0; shift ;;
	--smp | --mem) guest_opts+=("$1" "${2:?}"); shift 2 ;;
	--timeout) timeout=${2:?}; shift 2 ;;
	--icount | --quiet) guest_opts+=("$1"); shift ;;
	--keep-debug) mk_opts+=("$1"); shift ;;
	--config) export UMCG_KCONFIG=${2:?}; KCONFIG_NAME=$2; shift 2 ;;
	-h | --help) usage 0 ;;
	*) usage ;;
	esac
done

step() { printf '\n==== test-guest: %s\n' "$*" >&2; }

# cargo_executables KIND ARGS...: runs `cargo ARGS --message-format=json` in the repository
# and prints the executables it reports of KIND: "test" (test harnesses) or "example".
cargo_executables() {
	local kind=$1
	shift
	(cd "$REPO_DIR" && cargo "$@" --message-format=json) | python3 -c '
import json, sys
kind = sys.argv[1]
for line in sys.stdin:
    try:
        msg = json.loads(line)
    except ValueError:
        continue
    if msg.get("reason") != "compiler-artifact" or not msg.get("executable"):
        continue
    if (msg["profile"]["test"] if kind == "test" else kind in msg["target"]["kind"]):
        print(msg["executable"])
' "$kind" | sort -u
}

kconfig_overlay >/dev/null
step "kernel (build.sh, configuration $KCONFIG_NAME)"
kcache=$("$SCRIPTS_DIR/build.sh" | tail -n 1)
[ -f "$kcache/bzImage" ] || die "build.sh produced no bzImage"
if grep -q '^CONFIG_UMCG=y$' "$kcache/config"; then
	umcg=1
	info "the kernel has CONFIG_UMCG=y: guest tests run with UMCG_REQUIRE_KERNEL=1"
else
	umcg=0
	info "THE KERNEL HAS NO CONFIG_UMCG (the series does not provide it yet):" \
		"guest tests run WITHOUT UMCG_REQUIRE_KERNEL"
fi

run_dir=$BUILD_DIR/runs/$(date -u +%Y%m%dT%H%M%S)-$$
mkdir -p "$run_dir"
# Keep the ten most recent runs' logs.
find "$BUILD_DIR/runs" -mindepth 1 -maxdepth 1 -type d | sort | head -n -10 | xargs -r rm -rf
mk=(-o "$run_dir/initramfs.cpio")

if [ "$rust" -eq 1 ]; then
	step "Rust test binaries (cargo test --workspace --no-run)"
	(cd "$REPO_DIR" && cargo test --workspace --no-run)
	mapfile -t tests < <(cargo_executables test test --workspace --no-run)
	[ "${#tests[@]}" -gt 0 ] || die "cargo reported no test executables"
	for exe in "${tests[@]}"; do
		info "guest: /opt/umcg/rust/${exe##*/}"
		mk+=(-e "$exe=/opt/umcg/rust")
	done
	step "examples (cargo build -p examples --examples)"
	mapfile -t examples < <(cargo_executables example build -p examples --examples)
	[ "${#examples[@]}" -eq 4 ] || die "expected 4 example executables, got ${#examples[@]}"
	for exe in "${examples[@]}"; do
		info "guest: /opt/umcg/examples/${exe##*/}"
		mk+=(-e "$exe=/opt/umcg/examples")
	done
fi
if [ -d "$kcache/selftests" ]; then
	mk+=(-f "$kcache/selftests=/opt/umcg/selftests")
	while IFS= read -r -d '' exe; do
		if [ "$(head -c 4 "$exe" | od -An -c | tr -d ' ')" = '177ELF' ]; then
			mk+=(-l "$exe")
		fi
	done < <(find "$kcache/selftests" -type f -perm -u+x -print0)
	info "guest: /opt/umcg/selftests/ (kselftest install of TARGETS=umcg)"
else
	info "the kernel build has no umcg kselftests (the series does not add them yet)"
fi
for exe in "${adds[@]}"; do
	mk+=(-e "$exe=/opt/umcg/bin")
done

guest_env="export UMCG_KERNEL_HAS_UMCG=$umcg RUST_BACKTRACE=1"
if [ -n "$cmd" ]; then
	mk+=(-c "$guest_env; $cmd")
else
	sed "s/@UMCG@/$umcg/" >"$run_dir/run-tests.sh" <<'EOF'
#!/bin/sh
# Generated by kernel/scripts/test-guest.sh: the guest side of the full guest test.
umcg=@UMCG@
failures=0
result() {
	echo "UMCG-RESULT $*"
	case $1 in FAIL) failures=$((failures + 1)) ;; esac
}

if [ "$umcg" = 1 ]; then
	echo "==== MODE: UMCG kernel (CONFIG_UMCG=y), tests run with UMCG_REQUIRE_KERNEL=1"
	export UMCG_REQUIRE_KERNEL=1
	if [ -r /sys/kernel/umcg/version ]; then
		result PASS "detection: /sys/kernel/umcg/version is $(cat /sys/kernel/umcg/version)"
	else
		result FAIL "detection: CONFIG_UMCG=y but /sys/kernel/umcg/version is missing"
	fi
else
	echo "==== MODE: NO UMCG in this kernel (CONFIG_UMCG unset): UMCG_REQUIRE_KERNEL NOT set"
	unset UMCG_REQUIRE_KERNEL
fi

if [ -x /opt/umcg/selftests/run_kselftest.sh ]; then
	echo "==== kselftests: /opt/umcg/selftests/run_kselftest.sh (TAP)"
	/opt/umcg/selftests/run_kselftest.sh 2>&1 | tee /tmp/kselftest.tap
	grep -E '^(not )?ok ' /tmp/kselftest.tap >/tmp/kselftest.results || true
	[ -s /tmp/kselftest.results ] || result FAIL "kselftests: no TAP results"
	while IFS= read -r line; do
		case $line in
		"not ok "*) result FAIL "kselftest: $line" ;;
		*"# SKIP"*)
			if [ "$umcg" = 1 ]; then
				result FAIL "kselftest skipped on a UMCG kernel: $line"
			else
				result SKIP "kselftest: $line"
			fi
			;;
		*) result PASS "kselftest: $line" ;;
		esac
	done </tmp/kselftest.results
fi

cd /tmp
for test in /opt/umcg/rust/*; do
	[ -x "$test" ] || continue
	echo "==== rust: ${test##*/} --test-threads=2"
	if "$test" --test-threads=2; then
		result PASS "rust: ${test##*/}"
	else
		result FAIL "rust: ${test##*/} (exit status $?)"
	fi
done

# The examples, run as a user would, each checked for the line that shows it worked.
if [ "$umcg" = 1 ]; then backend=kernel; else backend=emulated; fi
example() {
	name=$1 want=$2
	shift 2
	echo "==== example: $name $*"
	out=$("/opt/umcg/examples/$name" "$@" 2>&1)
	status=$?
	echo "$out"
	if [ "$status" -ne 0 ]; then
		result FAIL "example: $name $* (exit status $status)"
	elif ! echo "$out" | grep -qF -- "$want"; then
		result FAIL "example: $name $* (no \"$want\" in its output)"
	else
		result PASS "example: $name $*"
	fi
}
if [ -d /opt/umcg/examples ]; then
	example hello "(UMCG backend: $backend)"
	example backend "Auto: runs on \"$backend\""
	example blocking_io "ticker: "
	example echo_server "selftest: 100/100 clients" --selftest 100
fi

echo "==== guest: $failures failure(s)"
[ "$failures" -eq 0 ]
EOF
	mk+=(-f "$run_dir/run-tests.sh=/opt/umcg/run-tests.sh" -c "$guest_env; sh /opt/umcg/run-tests.sh")
fi

step "initramfs"
"$SCRIPTS_DIR/mkinitramfs.sh" "${mk_opts[@]}" "${mk[@]}"

step "boot (run-guest.sh)"
status=0
"$SCRIPTS_DIR/run-guest.sh" -k "$kcache/bzImage" -i "$run_dir/initramfs.cpio" \
	--log "$run_dir/console.log" --timeout "$timeout" "${guest_opts[@]}" || status=$?
rm -f "$run_dir/initramfs.cpio"

if [ -z "$cmd" ]; then
	step "summary ($([ "$umcg" -eq 1 ] && echo "UMCG kernel, UMCG_REQUIRE_KERNEL=1" ||
		echo "kernel WITHOUT UMCG, UMCG_REQUIRE_KERNEL unset"))"
	tr -d '\r' <"$run_dir/console.log" | sed -n 's/^UMCG-RESULT //p' >&2
fi
if [ "$status" -eq 0 ]; then
	info "PASSED (console log: $run_dir/console.log)"
else
	info "FAILED with status $status (console log: $run_dir/console.log)"
fi
exit "$status"
