#!/usr/bin/env bash
# The HumanEval greedy workload (84 prompts of the evaluation split, up to 512 new tokens) on s0
# (bench/humaneval_bench: all prompts at once, continuous batching) and on transformers generate()
# (bench/reference/hf_generate_bench.py, batches of 8), same checkpoint, same prompt ids, same EOS
# rule, one after the other on the same device; prints one table. Paths are arguments, so it runs
# from a build tree or from the packed layout (scripts/pack-for-device.sh):
#
#   bench/humaneval_workload.sh --bench "build/bench/humaneval_bench" --checkpoint /tmp/s0-bench-qwen35-4b-32 \
#       --tokenizer $S0_SHARED_DIR/fixtures/tokenizer/qwen3 --data $S0_SHARED_DIR/datasets/humaneval.jsonl --out DIR
#   (packed)  --bench "PACK/run.sh humaneval_bench" --tokenizer PACK/shared/fixtures/tokenizer/qwen3 \
#             --data PACK/shared/datasets/humaneval.jsonl
#
# Options: --device cuda (default) | cpu, --max-new-tokens 512, --hf-batch 8, --problems N (the first
# N prompts only: quick runs), --hf-deadline UNIX_TIME (transformers starts no batch that would end
# past it, the first excepted; its row then covers the prompts it ran), --no-reference (s0 only: where torch and
# transformers are not installed), --python python3.
#
# The checkpoint folder (config.json + model.safetensors, random weights) gets the tokenizer beside
# it in OUT/model (links to the weights; tokenizer files copied, .gz ones unpacked); the tokenizer's
# ids must fit the checkpoint's vocabulary (checked). Logs: OUT/s0.log, OUT/transformers.log.
set -euo pipefail

usage() {
  sed -n '2,20p' "$0" >&2
  exit 2
}
die() {
  echo "humaneval_workload.sh: $*" >&2
  exit 1
}

bench="" checkpoint="" tokenizer="" data="" out="" device=cuda max_new=512 hf_batch=8 problems="" deadline=0
reference=1 python=python3
while [ $# -gt 0 ]; do
  case "$1" in
    --bench) bench=$2; shift 2 ;;
    --checkpoint) checkpoint=$2; shift 2 ;;
    --tokenizer) tokenizer=$2; shift 2 ;;
    --data) data=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --device) device=$2; shift 2 ;;
    --max-new-tokens) max_new=$2; shift 2 ;;
    --hf-batch) hf_batch=$2; shift 2 ;;
    --problems) problems=$2; shift 2 ;;
    --hf-deadline) deadline=$2; shift 2 ;;
    --no-reference) reference=0; shift ;;
    --python) python=$2; shift 2 ;;
    *) usage ;;
  esac
done
if [ -z "$bench" ] || [ -z "$checkpoint" ] || [ -z "$tokenizer" ] || [ -z "$data" ] || [ -z "$out" ]; then usage; fi
for f in config.json model.safetensors; do
  [ -f "$checkpoint/$f" ] || die "--checkpoint $checkpoint has no $f"
done
[ -f "$data" ] || die "--data $data: no such file"
here="$(cd "$(dirname "$0")" && pwd)"

# The checkpoint with the tokenizer beside it.
mkdir -p "$out/model"
out="$(cd "$out" && pwd)"
for f in config.json model.safetensors; do
  ln -sfn "$(cd "$checkpoint" && pwd)/$f" "$out/model/$f"
done
for f in tokenizer.json tokenizer_config.json chat_template.jinja; do
  if [ -f "$tokenizer/$f" ]; then
    cp "$tokenizer/$f" "$out/model/$f"
  elif [ -f "$tokenizer/$f.gz" ]; then
    "$python" -c 'import gzip, shutil, sys; shutil.copyfileobj(gzip.open(sys.argv[1]), open(sys.argv[2], "wb"))' \
      "$tokenizer/$f.gz" "$out/model/$f"
  fi
done
[ -f "$out/model/tokenizer.json" ] || die "--tokenizer $tokenizer has no tokenizer.json (or tokenizer.json.gz)"
"$python" - "$out/model" <<'PY' || exit 1
import json, sys
d = sys.argv[1]
tok = json.load(open(f"{d}/tokenizer.json", encoding="utf-8"))
ids = list(tok["model"]["vocab"].values()) + [t["id"] for t in tok.get("added_tokens", [])]
vocab = json.load(open(f"{d}/config.json"))["vocab_size"]
if max(ids) >= vocab:
    sys.exit(f"humaneval_workload.sh: the tokenizer's ids reach {max(ids)}, past the checkpoint's vocabulary of {vocab}")
print(f"tokenizer: ids 0-{max(ids)} fit the checkpoint's vocabulary of {vocab}")
PY

# s0 first: it writes the prompts the reference reads, and prints the EOS ids it stops on.
extra=()
[ -n "$problems" ] && extra+=(--problems "$problems")
# shellcheck disable=SC2086  # --bench is a command line: "PACK/run.sh humaneval_bench" splits into words
$bench --model "$out/model" --data "$data" --device "$device" --max-new-tokens "$max_new" \
  --write-prompts "$out/prompts.jsonl" "${extra[@]}" 2>&1 | tee "$out/s0.log"
s0_result=$(grep '^RESULT ' "$out/s0.log" | tail -1 | cut -c8-)
[ -n "$s0_result" ] || die "humaneval_bench gave no RESULT line (see $out/s0.log)"
eos=$("$python" -c 'import json, sys; print(",".join(str(i) for i in json.loads(sys.argv[1])["eos_ids"]))' "$s0_result")

hf_result=""
if [ "$reference" = 1 ]; then
  "$python" "$here/reference/hf_generate_bench.py" --model "$out/model" --prompts "$out/prompts.jsonl" \
    --eos-ids "$eos" --batch "$hf_batch" --max-new-tokens "$max_new" --deadline "$deadline" \
    --device "$device" 2>&1 | tee "$out/transformers.log"
  hf_result=$(grep '^RESULT ' "$out/transformers.log" | tail -1 | cut -c8-)
  [ -n "$hf_result" ] || die "hf_generate_bench.py gave no RESULT line (see $out/transformers.log)"
fi

"$python" - "$s0_result" "$hf_result" <<'PY'
import json, sys
s0 = json.loads(sys.argv[1])
hf = json.loads(sys.argv[2]) if sys.argv[2] else None
print(f"\nHumanEval greedy workload: {s0['prompts']} prompts ({s0['prompt_tokens']} prompt tokens), up to "
      f"{s0['max_new_tokens']} new tokens, EOS ids {s0['eos_ids']}")
print(f"{'':34} {'prompts':>8} {'seconds':>9} {'tokens':>8} {'tokens/s':>9}")
rows = [(f"s0 ({s0['device']}, batch {s0['batch']})", s0)]
if hf:
    rows.append((f"transformers ({hf['device']}, batch {hf['batch']})", hf))
for name, r in rows:
    print(f"{name:34} {r['prompts']:>8} {r['seconds']:>9.2f} {r['tokens']:>8} {r['tokens'] / r['seconds']:>9.1f}")
if not hf:
    print("transformers: not run (--no-reference)")
    sys.exit(0)
same = hf["digest"] == s0["digest"]
print(f"prompt ids: {'identical' if same else 'DIFFERENT'} (digest s0 {s0['digest']}, transformers {hf['digest']})")
rate = (s0["tokens"] / s0["seconds"]) / (hf["tokens"] / hf["seconds"])
print(f"s0 / transformers: {rate:.2f}x the tokens/s", end="")
if hf["partial"]:
    print(f"; transformers stopped at its deadline after {hf['prompts']} of {hf['prompts_total']} prompts, "
          f"so no wall-time ratio over the whole workload")
else:
    print(f"; wall time {hf['seconds'] / s0['seconds']:.2f}x shorter")
if hf.get("missing_weights"):
    print(f"WARNING: transformers initialised {hf['missing_weights']} weights the checkpoint lacks at random")
sys.exit(0 if same else 1)
PY
