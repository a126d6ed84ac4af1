#!/usr/bin/python3
"""Do two engines' logits for the same prompt position agree? Both files raw little-endian float32
[vocab]. Prints the max abs difference, the largest |logit| and both argmaxes; exits 1 when the
argmaxes differ or, given --max-abs, the difference exceeds it.

    logits_agree.py A.f32 B.f32 [--max-abs 0.005] --label "llama.cpp F32 vs s0 f32"
"""
import argparse
import sys

import numpy as np

ap = argparse.ArgumentParser()
ap.add_argument("a")
ap.add_argument("b")
ap.add_argument("--max-abs", type=float, default=float("inf"))
ap.add_argument("--label", default="")
args = ap.parse_args()
a, b = np.fromfile(args.a, dtype="<f4"), np.fromfile(args.b, dtype="<f4")
if a.size != b.size or a.size == 0:
    print(f"logits_agree.py: {args.a} has {a.size} logits, {args.b} has {b.size}", file=sys.stderr)
    sys.exit(1)
diff = float(np.max(np.abs(a.astype(np.float64) - b)))
ok = diff <= args.max_abs and int(a.argmax()) == int(b.argmax()) and np.isfinite(a).all() and np.isfinite(b).all()
print(f"{args.label}: max abs diff {diff:.3e} (max |logit| {float(np.max(np.abs(b))):.3f}), "
      f"argmax {int(a.argmax())} vs {int(b.argmax())}: {'agree' if ok else 'DISAGREE'}"
      + (f" (bound {args.max_abs:g})" if np.isfinite(args.max_abs) else " (argmax only)"))
sys.exit(0 if ok else 1)
