#!/usr/bin/env python3
"""Instructions per iteration, per kernel function and per kind of work.

Usage: symbolize.py SYSTEM_MAP SHORT_RUN LONG_RUN ITERATIONS [TOP]

SHORT_RUN and LONG_RUN are insn_count.c outputs of two boots that differ only in how many
iterations the measured program ran; ITERATIONS is the difference. Everything both boots did
alike (boot, setup, teardown) cancels out, so what is left is the cost of one iteration.
Addresses below the kernel's half of the address space count as "[user]".
"""
import bisect
import collections
import re
import sys

# Kinds of work, tried in order; a function matching none is "other kernel".
KINDS = [
    ("user space", r"^\[user\]$"),
    ("UMCG syscalls and hooks", r"umcg"),
    ("futex", r"futex|^plist_|^wake_q_|^wake_up_q$"),
    ("syscall entry/exit, rseq, FPU restore",
     r"^entry_SYSCALL|^do_syscall_64$|^x64_sys_call$|syscall_exit|exit_to_user_mode|"
     r"^syscall_return|resume_user_mode|rseq|fpregs|^fxrstor|^switch_fpu_return$|^__access_ok$|"
     r"^__(get|put)_user_"),
    ("context switch (switch_to, mm, FPU save, RCU)",
     r"^__schedule$|^schedule$|^__switch_to|^finish_task_switch|^switch_mm|load_gs_index|"
     r"^rcu_|^save_fpregs|^wrmsrl$|^preempt_schedule|^__sched_text_start$|^sched_submit_work$|"
     r"^sched_update_worker$|^__balance_callbacks$"),
    ("wakeup, enqueue/dequeue, pick, load tracking (kernel/sched/)",
     r"load_avg|^update_curr|entity|vruntime|^pick_|^put_prev|^set_next|^enqueue|^dequeue|"
     r"^update_rq_clock|sched_clock|wake|preempt|^resched_curr$|^dl_server|^update_dl|"
     r"^cfs_rq_of$|^min_vruntime|^__rb_|^rb_|^calc_delta|^clear_buddies|^update_deadline|"
     r"^arch_scale|^account_|^update_misfit|_rq_lock|^__task_rq_lock$|^select_task_rq|"
     r"^ttwu|^task_|^requeue_|^clear_delayed|^avg_vruntime|^update_min"),
]


def load_symbols(path):
    syms = []
    with open(path) as f:
        for line in f:
            addr, kind, name = line.split()[:3]
            if kind in "tTwW":
                syms.append((int(addr, 16), name))
    syms.sort()
    return [a for a, _ in syms], [n for _, n in syms]


def per_function(path, addrs, names):
    counts = collections.Counter()
    with open(path) as f:
        for line in f:
            addr, count = line.split()
            addr = int(addr, 16)
            if addr < 0xFFFF800000000000:
                counts["[user]"] += int(count)
                continue
            i = bisect.bisect_right(addrs, addr) - 1
            counts[names[i] if i >= 0 else "[unknown kernel]"] += int(count)
    return counts


def kind_of(name):
    for kind, pattern in KINDS:
        if re.search(pattern, name):
            return kind
    return "other kernel"


def main():
    if len(sys.argv) not in (5, 6):
        sys.exit(__doc__)
    addrs, names = load_symbols(sys.argv[1])
    short = per_function(sys.argv[2], addrs, names)
    long = per_function(sys.argv[3], addrs, names)
    n = int(sys.argv[4])
    top = int(sys.argv[5]) if len(sys.argv) == 6 else 40
    per = {k: (long[k] - short[k]) / n for k in set(short) | set(long)}
    total = sum(per.values())
    print(f"instructions per iteration: {total:.0f}")
    kinds = collections.Counter()
    for name, v in per.items():
        kinds[kind_of(name)] += v
    print("\nby kind of work:")
    for kind, v in kinds.most_common():
        print(f"{v:9.0f} {100 * v / total:5.1f}%  {kind}")
    print(f"\nby function (top {top}):")
    for name, v in sorted(per.items(), key=lambda kv: -kv[1])[:top]:
        print(f"{v:9.1f} {100 * v / total:5.1f}%  {name}  [{kind_of(name)}]")


if __name__ == "__main__":
    main()
