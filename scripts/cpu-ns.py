#!/usr/bin/env python3
"""CPU time of a process tree over a window, in nanoseconds, from each thread's schedstat.

    scripts/cpu-ns.py SECONDS PID

Prints one line: `<ns> <threads seen>`. `/proc/<pid>/stat`'s utime and stime are sampled at
timer ticks (10 ms steps at best): an idle dashboard's 45 ms in 30 s reads as 0.04 or 0.05
by chance, and a ratio of two such figures moves by 20 %. The scheduler's run time of each
thread (`/proc/<pid>/task/<tid>/schedstat`, first field) is exact. The threads of the tree's
processes (found at the start; a dashboard starts none while idle) are polled every 0.5 s, so
one that ends during the window counts up to its last poll (a thread pool's idle worker ends
with nothing left to count); one that starts counts from 0. The tree is looked for again at
the end, for any process started meanwhile; a child that starts and ends within the window
is not counted (neither dashboard measured here starts one while idle).
"""
import os
import sys
import time


def tree(root):
    """root and its descendants (by parent PID)."""
    children = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(name))
    out, todo = [], [root]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def runtimes(pids):
    """(pid, tid) -> ns run so far, for every thread of pids."""
    out = {}
    for pid in pids:
        try:
            tids = os.listdir(f"/proc/{pid}/task")
        except OSError:
            continue
        for tid in tids:
            try:
                with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                    out[(pid, int(tid))] = int(f.read().split()[0])
            except (OSError, ValueError, IndexError):
                continue
    return out


def main():
    secs, root = float(sys.argv[1]), int(sys.argv[2])
    pids = tree(root)
    start = runtimes(pids)
    last = dict(start)
    end = time.monotonic() + secs
    while True:
        left = end - time.monotonic()
        if left <= 0:
            break
        time.sleep(min(0.5, left))
        last.update(runtimes(pids))
    last.update(runtimes(tree(root)))
    # A thread ID reused within the window starts over: never a negative share.
    used = sum(max(0, ns - start.get(key, 0)) for key, ns in last.items())
    print(used, len(last))


if __name__ == "__main__":
    main()
