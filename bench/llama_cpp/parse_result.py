#!/usr/bin/python3
"""One tokens/s figure from a benchmark's output on stdin.

    parse_result.py llama-bench      llama-bench -o json: the best repetition (max of samples_ts)
    parse_result.py batched-bench    llama-batched-bench --output-format jsonl: speed_tg
    parse_result.py s0-forward       forward_bench: "... = X tokens/s"
    parse_result.py s0-decode BATCH  decode_bench: tokens/s of the row BATCH, zero initial state
"""
import json
import re
import sys

kind, text = sys.argv[1], sys.stdin.read()
if kind == "llama-bench":
    # The best repetition, as forward_bench reports the best of its repetitions.
    (record,) = json.loads(text[text.index("["):])
    value = max(record["samples_ts"])
elif kind == "batched-bench":
    (line,) = [l for l in text.splitlines() if l.startswith("{") and '"speed_tg"' in l]
    value = json.loads(line)["speed_tg"]
elif kind == "s0-forward":
    (value,) = [float(m) for m in re.findall(r"= ([0-9.]+) tokens/s", text)]
elif kind == "s0-decode":
    (value,) = [float(m.split()[4]) for m in text.splitlines()
                if re.match(rf"^{int(sys.argv[2])}\s+zero \(none\)\s", m)]
else:
    sys.exit(f"parse_result.py: unknown kind {kind}")
print(f"{value:.2f}")
