#!/usr/bin/python3
"""The comparison table from compare.sh's results (TSV: round, variant, metric, tokens/s, 1-minute
load average when the run started): one row per metric, one column per variant, every round's
figure and the best (the quietest round, as issue 15's table reports), then the ratios of s0 bf16
to llama.cpp BF16 that issue 15's targets name.

    table.py results.tsv
"""
import collections
import sys

VARIANTS = ["s0 f32", "s0 bf16", "llama.cpp F32", "llama.cpp BF16"]
METRICS = [("prefill512", "prefill, 512 tokens"), ("decode1", "decode, batch 1"), ("decode16", "decode, batch 16")]
TARGETS = {"prefill512": 1.2, "decode1": 1.0, "decode16": 1.2}  # issue 15: s0 bf16 / llama.cpp BF16

runs = collections.defaultdict(list)  # (variant, metric) -> [(round, tokens/s, load)]
for line in open(sys.argv[1]):
    rnd, variant, metric, value, load = line.rstrip("\n").split("\t")
    runs[(variant, metric)].append((int(rnd), float(value), float(load)))

print("| tokens/s: rounds (best) | " + " | ".join(VARIANTS) + " |")
print("|---" * (len(VARIANTS) + 1) + "|")
for metric, title in METRICS:
    cells = []
    for v in VARIANTS:
        r = sorted(runs.get((v, metric), []))
        cells.append(" / ".join(f"{x:.1f}" for _, x, _ in r) + (f" ({max(x for _, x, _ in r):.1f})" if r else "-"))
    print(f"| {title} | " + " | ".join(cells) + " |")
print()
for metric, title in METRICS:
    s0, ll = runs.get(("s0 bf16", metric)), runs.get(("llama.cpp BF16", metric))
    if s0 and ll:
        ratio = max(x for _, x, _ in s0) / max(x for _, x, _ in ll)
        print(f"{title}: s0 bf16 / llama.cpp BF16 = {ratio:.2f} (issue 15's target >= {TARGETS[metric]})")
loads = sorted({(r, l) for rs in runs.values() for r, _, l in rs})
print("load average (1 min) at each run's start, by round: " +
      "; ".join(f"{rnd}: {min(l for r, l in loads if r == rnd):.2f}-{max(l for r, l in loads if r == rnd):.2f}"
                for rnd in sorted({r for r, _ in loads})))
