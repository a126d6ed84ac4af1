#!/usr/bin/env bash
# Wall time of one HumanEval experiment seed (issue 13's benchmark), stage by stage, as `s0
# experiment --seeds 1` runs it:
#   collect         the training split (HumanEval/0-79) sampled --samples times (16) at temperature
#                   0.7, top-p 0.95, up to --max-new-tokens (512), each completion checked in the
#                   sandbox (random weights solve nothing: nothing is kept);
#   train           --steps (20) on --examples (48) synthetic examples of 250-450 tokens (written by
#                   build/bench/experiment_seed_inputs, as collection gives nothing to train on);
#   evaluate        the evaluation split (HumanEval/80-163, 84 problems) greedy, the base model and
#                   the trained adapter generated together in one pass, each checked and reported.
# Random weights collect nothing to train on, so the experiment runs twice in its out folder: first
# stopped after its collect stage (S0_EXPERIMENT_STOP_AFTER=1, as a kill between stages would), then,
# with the seed's training data replaced by the synthetic examples, resumed (--resume) for training,
# the evaluations and the report. Each run loads the model once (an uninterrupted experiment would
# load it once in all): the collect row includes the first load, the train row the second. The
# "generation" rows are generation alone, as s0 reports it, and the "steps" row the training steps
# alone. The model is a random checkpoint of Qwen3.5-4B's shape (--shape qwen35-4b, bf16, written
# once to the work folder and kept) or a tiny float32 one (--shape tiny, for a smoke run on the
# CPU), with the shared fixtures' Qwen3 tokenizer beside it. Needs only the build's binaries, bash,
# awk and coreutils (and the sandbox's own needs: bubblewrap and python3, or --unsafe-no-sandbox).
#
# Usage: bench/experiment_seed_bench.sh [--shape qwen35-4b|tiny] [--build DIR] [--work DIR]
#          [--shared DIR] [--data FILE] [--device D] [--samples N] [--max-new-tokens N] [--steps N]
#          [--examples N] [--batch N] [--eager] [--state-dtype f32|bf16] [--kv-dtype f32|bf16]
#          [--workers N] [--unsafe-no-sandbox]
# Defaults: qwen35-4b, build (beside this script's folder), ${TMPDIR:-/tmp}/s0-experiment-seed-SHAPE,
# $S0_SHARED_DIR (else ../shared of the checkout), SHARED/datasets/humaneval.jsonl, s0's device
# default (the first GPU, else the CPU), the paper's 16 / 512 / 20 / 48, and s0's decode batch for
# the device (16 on the CPU; on a GPU as many as half its free memory holds, at most 256).
# --eager: collection and evaluation decode without CUDA graphs (s0's own --eager), for comparisons.
# --state-dtype, --kv-dtype: the dtypes collection and evaluation keep recurrent states and cached
# keys and values in (s0's own, default f32).
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
    --state-dtype|--kv-dtype) decode_args+=("$1" "${2:?$1 needs a value}"); shift 2 ;;
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

# Runs experiment run NAME (stdout and stderr in logs/NAME.log, each line after the time it was read
# at, in seconds), setting `started` and `ended` to its start and end times and `seconds` to its
# wall time; `expect` is the exit status it must end with.
run_experiment() {
  local name="$1" expect="$2"; shift 2
  local log="$work/logs/$name.log" status
  started="$EPOCHREALTIME"
  set +e
  "$@" 2>&1 | while IFS= read -r line; do printf '%s %s\n' "$EPOCHREALTIME" "$line"; done >"$log"
  status="${PIPESTATUS[0]}"
  set -e
  ended="$EPOCHREALTIME"
  seconds="$(seconds_between "$started" "$ended")"
  if [ "$status" != "$expect" ]; then
    echo "experiment_seed_bench: run $name ended with status $status (expected $expect); the end of $log:" >&2
    tail -n 20 "$log" >&2
    exit 1
  fi
}

# The time of the first line of run NAME's log that starts with TEXT (after its time stamp).
time_of() {
  awk -v text="$2" '{ t = $1; sub(/^[^ ]+ /, ""); if (index($0, text) == 1) { print t; exit } }' "$work/logs/$1.log"
}
# From run NAME's log: the generation's tokens and seconds ("s0: generated N tokens in S s ..."), the
# K-th such line.
generation_of() {
  sed -nE 's/^[0-9.]+ s0: generated ([0-9]+) tokens in ([0-9.]+) s.*/\1 \2/p' "$work/logs/$1.log" | sed -n "${2}p"
}
# From run NAME's log: how many completions the K-th generation made ("s0: generating N completions ...").
completions_of() {
  sed -nE 's/^[0-9.]+ s0: generating ([0-9]+) completions.*/\1/p' "$work/logs/$1.log" | sed -n "${2}p"
}
# From the resumed run's log: the training steps' own seconds, summed ("step  N/M  loss ...  S s" lines).
steps_of() {
  sed -nE 's/^[0-9.]+ step +[0-9]+\/[0-9]+ .* ([0-9.]+) s$/\1/p' "$work/logs/resumed.log" |
    awk '{ total += $1 } END { printf "%.2f", total }'
}
seconds_between() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }

rows=()
# A table row, also printed at once (a run cut short still shows the stages it finished).
row() {
  rows+=("$(printf '%-34s %10s %10s %10s' "$1" "$2" "$3" \
    "$(awk -v t="$3" -v s="$2" 'BEGIN { if (t == "" || s <= 0) print ""; else printf "%.1f", t / s }')")")
  echo "  ${rows[-1]}"
}
# A stage's row and, below it, its generation's (the K-th of run NAME).
generation_rows() {
  local label="$1" name="$2" k="$3" tokens gen_s
  read -r tokens gen_s <<<"$(generation_of "$name" "$k")"
  row "$label" "$seconds" "$tokens"
  row "  of which generation" "$gen_s" "$tokens"
}

echo "inputs: $shape model and $examples synthetic examples in $work ..."
read -r _ _ _ step_tokens <<<"$("$inputs" "$shape" "$work" "$shared/fixtures/tokenizer/qwen3" "$examples")"
rm -rf "$work/exp"  # the experiment refuses a used folder without --resume: a second run in one work folder
experiment=("$s0" experiment --model "$work/model" --benchmark humaneval --data "$data" --out "$work/exp"
  --seeds 1 --samples "$samples" --max-new-tokens "$max_new" --steps "$steps" "${device_args[@]}"
  "${decode_args[@]}" "${check_args[@]}" --quiet)

echo "collect ..."
S0_EXPERIMENT_STOP_AFTER=1 run_experiment collect 1 "${experiment[@]}"
grep -q "stopped after 1 stages" "$work/logs/collect.log" || die "the first run did not stop after collecting"
generation_rows "collect ($(completions_of collect 1) samples)" collect 1
total="$seconds"

echo "train and evaluate ..."
cp "$work/train.jsonl" "$work/exp/seed-1/train.jsonl"
run_experiment resumed 0 "${experiment[@]}" --resume
total="$(awk -v a="$total" -v b="$seconds" 'BEGIN { printf "%.2f", a + b }')"
evaluate="$(time_of resumed "s0 experiment: generating 2 greedy evaluations together")"
[ -n "$evaluate" ] || die "the resumed run did not evaluate the base model and the adapter together"
end="$ended"
seconds="$(seconds_between "$started" "$evaluate")"
row "train ($steps steps x $examples examples)" "$seconds" "$((steps * step_tokens))"
row "  of which steps" "$(steps_of)" "$((steps * step_tokens))"
seconds="$(seconds_between "$evaluate" "$end")"
generation_rows "evaluate ($(completions_of resumed 1) greedy, 2 runs)" resumed 1
row "one seed" "$total" ""
[ -s "$work/exp/report.md" ] || die "the resumed run wrote no report"

echo
printf '%-34s %10s %10s %10s\n' stage seconds tokens tokens/s
printf '%s\n' "${rows[@]}"
echo "(logs: $work/logs)"
