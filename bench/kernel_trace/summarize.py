#!/usr/bin/env python3
"""Summarises a kernel timeline written by kernel_trace.cpp (CSV: start_ns,end_ns,stream,name).

Steps are cut where a kernel whose name matches --step-start begins (for decode_bench: the
embedding gather that opens every decode step). Over the last --steps complete steps it prints the
mean step time (first kernel's start to the next step's), the kernels' busy time (their union on the
timeline), the idle time between kernels, the kernels by total time with their mean duration, and
where the GPU was idle: the gaps by size, the pairs of kernels the larger gaps sit between, and the
largest gaps.

  bench/kernel_trace/summarize.py trace.csv [--step-start REGEX] [--steps N] [--top N]
"""
import argparse
import collections
import re
import sys

GAP_BINS = [(2e3, "under 2 us"), (1e4, "2-10 us"), (1e5, "10-100 us"), (1e6, "0.1-1 ms"), (float("inf"), "over 1 ms")]


def short_name(name):
    return re.sub(r"\(.*", "", name.replace("(anonymous namespace)::", ""))[:90]


def read_trace(path):
    kernels = []
    with open(path) as f:
        for n, line in enumerate(f, 1):
            parts = line.rstrip("\n").split(",", 3)
            if len(parts) != 4 or not parts[0].isdigit() or not parts[1].isdigit():
                sys.exit(f"summarize: {path}:{n}: expected start_ns,end_ns,stream,name")
            kernels.append((int(parts[0]), int(parts[1]), short_name(parts[3])))
    kernels.sort()
    return kernels


def busy_and_gaps(window, next_step):
    """The window's kernels' union on the timeline, and each gap up to the next step's first kernel
    (next_step): (length, the kernel before, the kernel after)."""
    busy, gaps = 0, []
    reach, last = window[0][0], window[0][2]
    for s, e, name in window:
        if s > reach:
            gaps.append((s - reach, last, name))
        if e > reach:
            busy += e - max(s, reach)
            reach, last = e, name
    if next_step[0] > reach:
        gaps.append((next_step[0] - reach, last, next_step[2]))
    return busy, gaps


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("trace")
    ap.add_argument("--step-start", default=r"gather<__nv_bfloat16>", help="regex of a step's first kernel")
    ap.add_argument("--steps", type=int, default=8, help="last complete steps to summarise")
    ap.add_argument("--top", type=int, default=25)
    a = ap.parse_args()
    kernels = read_trace(a.trace)
    marker = re.compile(a.step_start)
    starts = [i for i, k in enumerate(kernels) if marker.search(k[2])]
    if len(starts) < a.steps + 1:
        sys.exit(f"summarize: {len(starts)} kernels match --step-start {a.step_start!r}; need {a.steps + 1}")
    first, last = starts[-a.steps - 1], starts[-1]
    window = kernels[first:last]
    span = kernels[last][0] - kernels[first][0]
    busy, gaps = busy_and_gaps(window, kernels[last])
    total = collections.Counter()
    count = collections.Counter()
    for s, e, name in window:
        total[name] += e - s
        count[name] += 1
    per = a.steps * 1e3  # ns over steps -> us per step
    print(f"steps {a.steps}: {span / a.steps / 1e6:.3f} ms a step, {len(window) / a.steps:.0f} kernels a step")
    print(f"  kernels busy {busy / per:.1f} us a step, idle {(span - busy) / per:.1f} us "
          f"({(span - busy) / max(1, len(window)) :.0f} ns a kernel)")
    print(f"  {'us/step':>9} {'n/step':>6} {'mean us':>8}  kernel")
    for name, t in total.most_common(a.top):
        print(f"  {t / per:9.1f} {count[name] / a.steps:6.1f} {t / count[name] / 1e3:8.2f}  {name}")

    print("idle time by gap size (us a step, gaps a step):")
    binned = collections.Counter()
    binned_n = collections.Counter()
    for g, _, _ in gaps:
        label = next(label for bound, label in GAP_BINS if g < bound)
        binned[label] += g
        binned_n[label] += 1
    for _, label in GAP_BINS:
        print(f"  {label:>10}: {binned[label] / per:9.1f} {binned_n[label] / a.steps:8.1f}")
    pairs = collections.Counter()
    pairs_n = collections.Counter()
    for g, before, after in gaps:
        if g >= 2e3:
            pairs[(before, after)] += g
            pairs_n[(before, after)] += 1
    print("gaps of 2 us or more by the kernels around them (us a step, gaps a step, before -> after):")
    for (before, after), t in pairs.most_common(a.top):
        print(f"  {t / per:9.1f} {pairs_n[(before, after)] / a.steps:6.1f}  {before} -> {after}")
    print("largest gaps (us):")
    for g, before, after in sorted(gaps, reverse=True)[:10]:
        print(f"  {g / 1e3:9.1f}  {before} -> {after}")


if __name__ == "__main__":
    main()
