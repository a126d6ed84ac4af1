#!/usr/bin/env bash
# Encode throughput of s0's tokenizer against @huggingface/tokenizers under node, on the same
# few MB of mixed code and prose, in the same run. Prints both MB/s figures and the ratio.
# Usage: bench/run_tokenizer_bench.sh [MODEL_DIR] [BUILD_DIR]
# (defaults: ../shared/fixtures/tokenizer/qwen3 and build, relative to the checkout)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
model="${1:-$root/../shared/fixtures/tokenizer/qwen3}"
build="${2:-$root/build}"
datasets="$root/../shared/datasets"
js="$root/bench/tokenizer_js"

if [ ! -d "$js/node_modules/@huggingface/tokenizers" ]; then
  (cd "$js" && npm install --no-audit --no-fund --silent)
fi
if [ ! -f "$build/CMakeCache.txt" ]; then
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
cmake --build "$build" --target tokenizer_bench -j2 >/dev/null

text="$(mktemp /tmp/s0-tokenizer-bench.XXXXXX)"
trap 'rm -f "$text"' EXIT
node "$js/make_corpus.mjs" "$datasets" "$text"
echo "text: $(wc -c <"$text") bytes from $datasets"

cpp_out="$(S0_TOKENIZER_MODEL="$model" S0_TOKENIZER_TEXT="$text" "$build/bench/tokenizer_bench" --benchmark_min_time=3)"
js_out="$(node "$js/bench.mjs" "$model" "$text" 3)"
echo "$cpp_out"
echo "$js_out"

field() { grep "^$1" <<<"$2" | sed -E 's/.*: ([0-9.]+) MB\/s.*/\1/'; }
ids() { grep "^$1" <<<"$2" | sed -E 's/.*(ids=[0-9]+ fnv=[0-9a-f]+).*/\1/'; }
for kind in cold lines; do
  if [ "$(ids "s0 $kind" "$cpp_out")" = "$(ids "js $kind" "$js_out")" ]; then
    echo "ids ($kind): identical ($(ids "s0 $kind" "$cpp_out"))"
  else
    echo "ids ($kind): DIFFER (s0 $(ids "s0 $kind" "$cpp_out"), js $(ids "js $kind" "$js_out"))"
  fi
done
for kind in cold warm lines; do
  s0="$(field "s0 $kind" "$cpp_out")"
  j="$(field "js $kind" "$js_out")"
  echo "$kind: s0 $s0 MB/s, js $j MB/s, ratio $(awk -v a="$s0" -v b="$j" 'BEGIN { printf "%.1fx", a / b }')"
done
