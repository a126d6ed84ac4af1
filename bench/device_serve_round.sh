#!/usr/bin/env bash
# Issue 12's GPU benchmark round in one device call, from the packed layout
# (scripts/pack-for-device.sh PACK build/s0 build/bench/decode_bench build/bench/serve_bench
# build/bench/humaneval_bench), logs under $OUT:
#   1. the card (nvidia-smi);
#   2. decode_bench on the random Qwen3.5-4B-shaped checkpoint (written once to the temp folder,
#      8.4 GB, a few minutes): the model's decode step alone next to the bandwidth floor;
#   3. serve_bench --device cuda --shape 4b: batch-1 decode over HTTP next to the floor, aggregate
#      tokens/s and p50/p99 time to first token at 64 concurrent requests, without adapters and
#      with 8 different ones;
#   4. the HumanEval greedy workload (bench/humaneval_workload.sh): s0 against transformers
#      generate() at batch 8 on the same checkpoint, the Qwen tokenizer beside it.
# transformers needs about 9 minutes for the whole workload on an H100 or H200 (73-84 tokens/s at
# batch 8, issue 12), more than a call's 10 minutes leave after steps 1-3: it starts no batch that
# would end past the round's deadline (ROUND_LIMIT_S after the start, 570 by default) and its row
# says how many prompts it ran. On a machine still warm from a first call (the checkpoint already
# written), `humaneval` alone leaves it most of a call.
#
#   bench/device_serve_round.sh PACK [all|serve|humaneval]
set -euo pipefail
if [ $# -lt 1 ] || [ ! -x "$1/run.sh" ]; then
  echo "usage: $0 PACK [all|serve|humaneval]   (PACK: scripts/pack-for-device.sh's folder)" >&2
  exit 2
fi
pack="$(cd "$1" && pwd)"
part=${2:-all}
case "$part" in all | serve | humaneval) ;; *) echo "$0: unknown part $part (all, serve or humaneval)" >&2; exit 2 ;; esac
deadline=$(($(date +%s) + ${ROUND_LIMIT_S:-570}))
here="$(cd "$(dirname "$0")" && pwd)"
out="${OUT:-${TMPDIR:-/tmp}/s0-serve-round}"
mkdir -p "$out"
exec > >(tee -a "$out/round.log") 2>&1

echo "== $(date -u +%FT%TZ) device_serve_round.sh $part"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv

# The model benchmarks' cached checkpoint (bench/model_bench_common.h: qwen35_4b_dir()).
checkpoint="${TMPDIR:-/tmp}/s0-bench-qwen35-4b-32"
if [ "$part" != humaneval ] || [ ! -f "$checkpoint/model.safetensors" ]; then
  echo "== decode_bench (writes the checkpoint when missing)"
  "$pack/run.sh" decode_bench --device cuda --shape 4b --batches 1,64 --steps 16 | tee "$out/decode_bench.log"
fi

if [ "$part" != humaneval ]; then
  echo "== serve_bench"
  "$pack/run.sh" serve_bench --device cuda --shape 4b --s0 "$pack/bin/s0" --concurrency 64 --prompt-tokens 128 \
    --max-tokens 256 --batch1-tokens 256 | tee "$out/serve_bench.log"
fi

if [ "$part" != serve ]; then
  echo "== HumanEval workload (transformers stops starting batches $((deadline - $(date +%s))) s from now)"
  work="${TMPDIR:-/tmp}/s0-humaneval-workload"  # the model folder stays out of \$OUT (its links, 11 MB tokenizer)
  status=0
  "$here/humaneval_workload.sh" --bench "$pack/run.sh humaneval_bench" --checkpoint "$checkpoint" \
    --tokenizer "$pack/shared/fixtures/tokenizer/qwen3" --data "$pack/shared/datasets/humaneval.jsonl" \
    --out "$work" --device cuda --hf-deadline "$deadline" || status=$?
  cp "$work/s0.log" "$work/transformers.log" "$out/" 2>/dev/null || true
  [ "$status" = 0 ] || exit "$status"
fi
echo "== done in ${SECONDS} s"
