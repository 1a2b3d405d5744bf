#!/usr/bin/env bash
# Runs the base tree's scripts/checkpatch.pl --strict over every patch listed in
# kernel/patches/series and fails on any ERROR or WARNING (and, with --checks-fail, on any
# CHECK too). The pristine base tree, kernel/build/base-<ver>, is unpacked once per version.
#
# Usage: checkpatch.sh [--checks-fail] [PATCH...]   (default: the patches of the series)
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
	sed -n '2,6s/^# \{0,1\}//p' "$0" >&2
	exit "${1:-2}"
}

checks_fail=0 patches=()
while [ $# -gt 0 ]; do
	case $1 in
	--checks-fail) checks_fail=1; shift ;;
	-h | --help) usage 0 ;;
	-*) usage ;;
	*) patches+=("$(realpath "$1")"); shift ;;
	esac
done
if [ "${#patches[@]}" -eq 0 ]; then
	mapfile -t names < <(series_patches)
	for name in "${names[@]}"; do
		patches+=("$PATCH_DIR/$name")
	done
fi
if [ "${#patches[@]}" -eq 0 ]; then
	info "the series is empty: nothing to check"
	exit 0
fi

tree=$(pristine_base)

bad=0 checks=0
for patch in "${patches[@]}"; do
	printf '\n==== checkpatch --strict %s\n' "${patch##*/}"
	out=$(cd "$tree" && perl scripts/checkpatch.pl --strict --color=never "$patch" 2>&1) || true
	printf '%s\n' "$out"
	summary=$(grep -E '^total: [0-9]+ errors, [0-9]+ warnings' <<<"$out" | tail -n 1) ||
		die "checkpatch.pl printed no summary for $patch"
	errors=$(sed -nE 's/^total: ([0-9]+) errors.*/\1/p' <<<"$summary")
	warnings=$(sed -nE 's/^total: [0-9]+ errors, ([0-9]+) warnings.*/\1/p' <<<"$summary")
	nchecks=$(sed -nE 's/.* warnings, ([0-9]+) checks.*/\1/p' <<<"$summary")
	nchecks=${nchecks:-0}
	checks=$((checks + nchecks))
	if [ "$errors" -ne 0 ] || [ "$warnings" -ne 0 ]; then
		bad=1
	elif [ "$checks_fail" -eq 1 ] && [ "$nchecks" -ne 0 ]; then
		bad=1
	fi
done
[ "$bad" -eq 0 ] || die "checkpatch found problems (above)"
info "checkpatch --strict: no errors or warnings in ${#patches[@]} patch(es), $checks check(s)"
