#!/usr/bin/env bash
# Checks bench/kernel_trace/summarize.py on a hand-made timeline whose numbers are worked out below
# (CTest KernelTraceSummary): two steps opened by the embedding gather at 0, 6000 and 9000 ns.
#   step 1: gather 0-100, gemv 150-400, norm 400-450, gemv 5450-5500; step 2: gather 6000-6100, gemv 6100-6300
#   busy 750 ns (0.375 us a step); gaps 50, 5000, 500, 2700 ns (8,250 ns: 4.125 us a step), of which
#   under 2 us 550 ns (0.275 us a step), 2-10 us 7,700 ns (3.85 us a step); largest 5.0 us norm -> gemv.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
dir="$(mktemp -d)"
trap 'rm -rf "$dir"' EXIT
gather='void s0::ops::cuda::cells_kernel<s0::ops::cuda::gather<__nv_bfloat16>>(int)'
cat > "$dir/trace.csv" <<CSV
6000,6100,7,$gather
0,100,7,$gather
150,400,7,gemv(float const*)
400,450,7,norm(float const*)
5450,5500,7,gemv(float const*)
6100,6300,7,gemv(float const*)
9000,9100,7,$gather
CSV
out="$(python3 "$here/summarize.py" "$dir/trace.csv" --steps 2)"
expect() {
  grep -qF -- "$1" <<<"$out" || { echo "summarize_test: no line with \"$1\" in:"; echo "$out"; exit 1; }
}
expect "steps 2: 0.004 ms a step, 3 kernels a step"
expect "kernels busy 0.4 us a step, idle 4.1 us"
expect "under 2 us:       0.3      1.0"
expect "2-10 us:       3.9      1.0"
expect "5.0  norm -> gemv"
expect "2.7  gemv -> void s0::ops::cuda::cells_kernel<s0::ops::cuda::gather<__nv_bfloat16>>"
# A malformed line is a one-line error naming the file and line, and a non-zero exit.
echo "12,not-a-number,7,x" >> "$dir/trace.csv"
if err="$(python3 "$here/summarize.py" "$dir/trace.csv" --steps 2 2>&1)"; then
  echo "summarize_test: a malformed line was accepted"; exit 1
fi
grep -qF "trace.csv:8: expected start_ns,end_ns,stream,name" <<<"$err" || { echo "summarize_test: error was: $err"; exit 1; }
# Too few steps for --steps: said so.
if err="$(head -n 7 "$dir/trace.csv" | python3 "$here/summarize.py" /dev/stdin --steps 5 2>&1)"; then
  echo "summarize_test: 5 steps from a 2-step trace"; exit 1
fi
grep -qF "need 6" <<<"$err" || { echo "summarize_test: error was: $err"; exit 1; }
echo "summarize_test: ok"
