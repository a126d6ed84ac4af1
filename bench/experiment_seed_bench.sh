#!/usr/bin/env bash
# Wall time of one HumanEval experiment seed (issue 13's benchmark), stage by stage, each stage the
# command `s0 experiment` runs for it:
#   collect         the training split (HumanEval/0-79) sampled --samples times (16) at temperature
#                   0.7, top-p 0.95, up to --max-new-tokens (512), each completion checked in the
#                   sandbox (random weights solve nothing: nothing is kept);
#   train           --steps (20) on --examples (48) synthetic examples of 250-450 tokens (written by
#                   build/bench/experiment_seed_inputs, as collection gives nothing to train on);
#   evaluate base   the evaluation split (HumanEval/80-163, 84 problems) greedy, checked;
#   evaluate tuned  the same with the trained adapter, compared with the base report.
# The model is a random checkpoint of Qwen3.5-4B's shape (--shape qwen35-4b, bf16, written once to
# the work folder and kept) or a tiny float32 one (--shape tiny, for a smoke run on the CPU), with
# the shared fixtures' Qwen3 tokenizer beside it. Each stage is its own command and loads the model
# itself (`s0 experiment` loads it once for all its stages), so a stage's seconds include loading;
# the "generation" rows are generation alone, as the command reports it, and the "steps" row the
# training steps alone. Needs only the build's binaries, bash, awk and coreutils (and the sandbox's
# own needs: bubblewrap and python3, or --unsafe-no-sandbox).
#
# Usage: bench/experiment_seed_bench.sh [--shape qwen35-4b|tiny] [--build DIR] [--work DIR]
#          [--shared DIR] [--data FILE] [--device D] [--samples N] [--max-new-tokens N] [--steps N]
#          [--examples N] [--batch N] [--eager] [--workers N] [--unsafe-no-sandbox]
# Defaults: qwen35-4b, build (beside this script's folder), ${TMPDIR:-/tmp}/s0-experiment-seed-SHAPE,
# $S0_SHARED_DIR (else ../shared of the checkout), SHARED/datasets/humaneval.jsonl, s0's device
# default (the first GPU, else the CPU), the paper's 16 / 512 / 20 / 48, and s0's decode batch for
# the device (16 on the CPU; on a GPU as many as half its free memory holds, at most 256).
# --eager: collection and evaluation decode without CUDA graphs (s0's own --eager), for comparisons.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"

shape=qwen35-4b build="$root/build" work="" shared="${S0_SHARED_DIR:-$root/../shared}" data=""
samples=16 max_new=512 steps=20 examples=48 decode_args=()
device_args=() check_args=()
die() { echo "experiment_seed_bench: $*" >&2; exit 2; }
while [ $# -gt 0 ]; do
  case "$1" in
    --shape) shape="${2:?--shape needs a value}"; shift 2 ;;
    --build) build="${2:?--build needs a value}"; shift 2 ;;
    --work) work="${2:?--work needs a value}"; shift 2 ;;
    --shared) shared="${2:?--shared needs a value}"; shift 2 ;;
    --data) data="${2:?--data needs a value}"; shift 2 ;;
    --device) device_args=(--device "${2:?--device needs a value}"); shift 2 ;;
    --samples) samples="${2:?--samples needs a value}"; shift 2 ;;
    --max-new-tokens) max_new="${2:?--max-new-tokens needs a value}"; shift 2 ;;
    --steps) steps="${2:?--steps needs a value}"; shift 2 ;;
    --examples) examples="${2:?--examples needs a value}"; shift 2 ;;
    --batch) decode_args+=(--batch "${2:?--batch needs a value}"); shift 2 ;;
    --eager) decode_args+=(--eager); shift ;;
    --workers) check_args+=(--workers "${2:?--workers needs a value}"); shift 2 ;;
    --unsafe-no-sandbox) check_args+=(--unsafe-no-sandbox); shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument $1 (see --help)" ;;
  esac
done
case "$shape" in qwen35-4b|tiny) ;; *) die "--shape $shape: expected qwen35-4b or tiny" ;; esac
for n in samples max_new steps examples; do
  [[ "${!n}" =~ ^[1-9][0-9]*$ ]] || die "--${n/max_new/max-new-tokens} ${!n}: expected a positive integer"
done
work="${work:-${TMPDIR:-/tmp}/s0-experiment-seed-$shape}"
data="${data:-$shared/datasets/humaneval.jsonl}"
s0="$build/s0" inputs="$build/bench/experiment_seed_inputs"
for f in "$s0" "$inputs"; do [ -x "$f" ] || die "$f: not built (cmake --build $build --target s0 experiment_seed_inputs)"; done
[ -f "$data" ] || die "$data: no such file (HumanEval as published; see --data, --shared)"
mkdir -p "$work/logs"

now() { date +%s.%N; }

# Runs stage NAME (its output in logs/NAME.log) and sets `seconds` to its wall time.
run_stage() {
  local name="$1"; shift
  local log="$work/logs/$name.log" start
  start="$(now)"
  if ! "$@" >"$log" 2>&1; then
    echo "experiment_seed_bench: stage $name failed; the end of $log:" >&2
    tail -n 20 "$log" >&2
    exit 1
  fi
  seconds="$(awk -v a="$start" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }')"
}

# From a stage's log: the generation's tokens and seconds ("s0: generated N tokens in S s ...").
generation_of() {
  sed -nE 's/^s0: generated ([0-9]+) tokens in ([0-9.]+) s.*/\1 \2/p' "$work/logs/$1.log" | tail -n 1
}
# From the train stage's log: the steps' own seconds, summed ("step  N/M  loss ...  S s" lines).
steps_of() {
  sed -nE 's/^step +[0-9]+\/[0-9]+ .* ([0-9.]+) s$/\1/p' "$work/logs/train.log" |
    awk '{ total += $1 } END { printf "%.2f", total }'
}
# From a stage's log: how many completions it generated ("s0: generating N completions ...").
completions_of() {
  sed -nE 's/^s0: generating ([0-9]+) completions.*/\1/p' "$work/logs/$1.log" | tail -n 1
}

rows=()
# A table row, also printed at once (a run cut short still shows the stages it finished).
row() {
  rows+=("$(printf '%-34s %10s %10s %10s' "$1" "$2" "$3" \
    "$(awk -v t="$3" -v s="$2" 'BEGIN { if (t == "" || s <= 0) print ""; else printf "%.1f", t / s }')")")
  echo "  ${rows[-1]}"
}
# A stage's row and, below it, its generation's.
generation_rows() {
  local label="$1" name="$2" tokens gen_s
  read -r tokens gen_s <<<"$(generation_of "$name")"
  row "$label" "$seconds" "$tokens"
  row "  of which generation" "$gen_s" "$tokens"
}

echo "inputs: $shape model and $examples synthetic examples in $work ..."
read -r _ _ _ step_tokens <<<"$("$inputs" "$shape" "$work" "$shared/fixtures/tokenizer/qwen3" "$examples")"
model="$work/model"
rm -f "$work/collected.jsonl" "$work/base.json" "$work/tuned.json" "$work/base.completions.jsonl" \
  "$work/tuned.completions.jsonl"  # each stage refuses to overwrite: a second run in one work folder
total=0
add_total() { total="$(awk -v a="$total" -v b="$seconds" 'BEGIN { printf "%.2f", a + b }')"; }

echo "collect ..."
run_stage collect "$s0" collect --benchmark humaneval --data "$data" --model "$model" "${device_args[@]}" \
  --samples "$samples" --temperature 0.7 --top-p 0.95 --max-new-tokens "$max_new" "${decode_args[@]}" \
  "${check_args[@]}" --quiet --out "$work/collected.jsonl"
generation_rows "collect ($(completions_of collect) samples)" collect
add_total

echo "train ..."
run_stage train "$s0" train --model "$model" --data "$work/train.jsonl" --out "$work/adapter" --force \
  "${device_args[@]}" --steps "$steps" --quiet
row "train ($steps steps x $examples examples)" "$seconds" "$((steps * step_tokens))"
row "  of which steps" "$(steps_of)" "$((steps * step_tokens))"
add_total

for which in base tuned; do
  echo "evaluate $which ..."
  adapter_args=()
  [ "$which" = tuned ] && adapter_args=(--adapter "$work/adapter" --baseline "$work/base.json")
  run_stage "eval-$which" "$s0" eval --benchmark humaneval --data "$data" --model "$model" "${device_args[@]}" \
    "${adapter_args[@]}" --max-new-tokens "$max_new" "${decode_args[@]}" "${check_args[@]}" --quiet \
    --report "$work/$which.json"
  generation_rows "evaluate $which ($(completions_of "eval-$which") greedy)" "eval-$which"
  add_total
done
row "one seed" "$total" ""

echo
printf '%-34s %10s %10s %10s\n' stage seconds tokens tokens/s
printf '%s\n' "${rows[@]}"
echo "(logs: $work/logs)"
