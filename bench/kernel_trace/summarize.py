#!/usr/bin/env python3
"""Summarises a kernel timeline written by kernel_trace.cpp (CSV: start_ns,end_ns,stream,name).

Steps are cut where a kernel whose name matches --step-start begins (for decode_bench: the
embedding gather that opens every decode step). Over the last --steps complete steps it prints the
mean step time (first kernel's start to the next step's), the kernels' busy time (their union on the
timeline), the idle time between kernels, and the kernels by total time with their mean duration.

  bench/kernel_trace/summarize.py trace.csv [--step-start REGEX] [--steps N] [--top N]
"""
import argparse
import collections
import re
import sys


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("trace")
    ap.add_argument("--step-start", default=r"gather<__nv_bfloat16>", help="regex of a step's first kernel")
    ap.add_argument("--steps", type=int, default=8, help="last complete steps to summarise")
    ap.add_argument("--top", type=int, default=25)
    a = ap.parse_args()
    kernels = []
    with open(a.trace) as f:
        for n, line in enumerate(f, 1):
            parts = line.rstrip("\n").split(",", 3)
            if len(parts) != 4:
                sys.exit(f"summarize: {a.trace}:{n}: expected start,end,stream,name")
            kernels.append((int(parts[0]), int(parts[1]), parts[3]))
    kernels.sort()
    marker = re.compile(a.step_start)
    starts = [i for i, k in enumerate(kernels) if marker.search(k[2])]
    if len(starts) < a.steps + 1:
        sys.exit(f"summarize: {len(starts)} kernels match --step-start {a.step_start!r}; need {a.steps + 1}")
    first, last = starts[-a.steps - 1], starts[-1]
    window = kernels[first:last]
    span = kernels[last][0] - kernels[first][0]
    busy, reach = 0, window[0][0]
    for s, e, _ in window:  # the union of the kernels' intervals
        if e > reach:
            busy += e - max(s, reach)
            reach = e
    total = collections.Counter()
    count = collections.Counter()
    for s, e, name in window:
        short = re.sub(r"\(.*", "", name.replace("(anonymous namespace)::", ""))[:90]
        total[short] += e - s
        count[short] += 1
    per = a.steps * 1e3  # ns over steps -> us per step
    print(f"steps {a.steps}: {span / a.steps / 1e6:.3f} ms a step, {len(window) / a.steps:.0f} kernels a step")
    print(f"  kernels busy {busy / per:.1f} us a step, idle {(span - busy) / per:.1f} us "
          f"({(span - busy) / max(1, len(window)) :.0f} ns a kernel)")
    print(f"  {'us/step':>9} {'n/step':>6} {'mean us':>8}  kernel")
    for name, t in total.most_common(a.top):
        print(f"  {t / per:9.1f} {count[name] / a.steps:6.1f} {t / count[name] / 1e3:8.2f}  {name}")


if __name__ == "__main__":
    main()
