#!/usr/bin/env bash
# CTest's smoke run of bench/experiment_seed_bench.sh on the CPU: the tiny model, one training and
# one evaluation problem, one sample of 4 tokens, one step on one example. Checks that every stage
# ran and that the table's counts are what the run must give: generated tokens within the problems'
# budget, training tokens one step's worth of 250-450-token examples, a tokens/s that is
# tokens / seconds, the experiment's reports written.
# Usage: bench/experiment_seed_bench_test.sh BUILD_DIR SHARED_DIR (S0_SHARED_DIR, when set, wins)
set -euo pipefail
build="$1" shared="${S0_SHARED_DIR:-$2}"  # the environment wins, as for the other tests
here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d /tmp/s0-experiment-seed-test.XXXXXX)"
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# HumanEval/0 (training split) and HumanEval/80 (evaluation split).
sed -n '1p;81p' "$shared/datasets/humaneval.jsonl" >"$work/data.jsonl"
out="$("$here/experiment_seed_bench.sh" --shape tiny --build "$build" --shared "$shared" --work "$work/run" \
  --data "$work/data.jsonl" --samples 1 --max-new-tokens 4 --steps 1 --examples 1 --workers 1)" \
  || fail "the benchmark failed: $out"
echo "$out"

# The row starting with $1: "seconds tokens tokens/s".
fields() { grep -E "^$1" <<<"$out" | head -n 1 | awk '{ print $(NF-2), $(NF-1), $NF }'; }
check_row() {  # label, least tokens, most tokens
  local s t r
  read -r s t r <<<"$(fields "$1")"
  [ -n "$r" ] || fail "no row \"$1\""
  awk -v s="$s" -v t="$t" -v r="$r" -v lo="$2" -v hi="$3" \
    'BEGIN { exit !(s > 0 && t >= lo && t <= hi && (r - t / s) ^ 2 < (0.06 + 0.01 * r) ^ 2) }' \
    || fail "row \"$1\": seconds $s, tokens $t, tokens/s $r (tokens expected in [$2, $3])"
}
check_row "collect \(1 samples\)" 1 4
check_row "train \(1 steps x 1 examples\)" 250 450
check_row "evaluate \(2 greedy, 2 runs\)" 2 8
[ "$(grep -c '^  of which generation' <<<"$out")" = 2 ] || fail "expected two generation rows"
check_row "  of which steps" 250 450
grep -qE '^one seed +[0-9.]+ *$' <<<"$out" || fail "no total row"
# The experiment's own files: the two evaluations, the adapter, the report; the seed's training data
# is the synthetic examples that replaced what collection kept (nothing: random weights solve nothing).
exp="$work/run/exp"
for f in base/eval.json seed-1/layers-all/eval.json seed-1/layers-all/adapter/states.safetensors report.md; do
  [ -s "$exp/$f" ] || fail "$f not written"
done
cmp -s "$exp/seed-1/train.jsonl" "$work/run/train.jsonl" || fail "the seed trained on other data than the examples"
grep -q '"baseline"' "$exp/seed-1/layers-all/eval.json" || fail "the tuned report is not compared with the base"
echo "PASS"
