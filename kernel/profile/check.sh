#!/usr/bin/env bash
# Checks the profiling tools without booting anything: insn_count.c builds warning-free as a
# shared object exporting the plugin entry points, and symbolize.py turns two synthetic runs
# into the expected instructions per iteration, per function and per kind of work.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

gcc -O2 -Wall -Wextra -Wno-unused-parameter -Werror -shared -fPIC \
	-o "$tmp/insn_count.so" "$here/insn_count.c"
for sym in qemu_plugin_install qemu_plugin_version; do
	nm -D --defined-only "$tmp/insn_count.so" | grep -qw "$sym" ||
		{ echo "insn_count.so does not export $sym" >&2; exit 1; }
done

cat >"$tmp/System.map" <<'MAP'
ffffffff81000000 T __schedule
ffffffff81000100 T umcg_wait_running
ffffffff81000200 t update_load_avg
ffffffff81000300 D some_data
MAP
# 10 iterations: __schedule +200, umcg_wait_running +100 (two blocks), update_load_avg +50,
# user space +150; the boot's counts cancel out.
cat >"$tmp/short.counts" <<'C'
ffffffff81000000 1000
ffffffff81000180 7
0000555555550000 300
C
cat >"$tmp/long.counts" <<'C'
ffffffff81000000 1200
ffffffff81000100 60
ffffffff81000180 47
ffffffff81000210 50
0000555555550000 450
C
python3 "$here/symbolize.py" "$tmp/System.map" "$tmp/short.counts" "$tmp/long.counts" 10 \
	>"$tmp/out"
expect() {
	grep -qF -- "$1" "$tmp/out" || { echo "symbolize.py: no '$1' in:" >&2; cat "$tmp/out" >&2; exit 1; }
}
expect "instructions per iteration: 50"
expect "20.0  40.0%  __schedule  [context switch"
expect "15.0  30.0%  [user]  [user space]"
expect "10.0  20.0%  umcg_wait_running  [UMCG syscalls and hooks]"
expect "5.0  10.0%  update_load_avg  [wakeup, enqueue/dequeue"
echo "kernel/profile: plugin builds, symbolize.py OK"
