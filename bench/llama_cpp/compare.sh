#!/usr/bin/env bash
# s0 against llama.cpp on this machine, issue 15's benchmark: prefill tokens/s at 512 tokens and decode
# tokens/s at batch 1 and 16, for s0 f32 and bf16 and llama.cpp F32 and BF16, on the same random
# Qwen3.5-0.8B-shaped weights (s0's benchmark checkpoint), same thread count, runs alternating
# between the four variants, ROUNDS rounds, then one table (bench/llama_cpp/table.py).
#
#   bench/llama_cpp/compare.sh            (from anywhere; S0_SHARED_DIR as for the tests)
#
# What it does, each step skipped when its result is already there:
#  1. llama.cpp's source from the npm package node-llama-cpp (its llama/gitRelease.bundle is a git
#     bundle of the llama.cpp release it ships), into $LLAMA_DIR, outside the repository;
#  2. a Release build of its CPU backend with -march=native (GGML_NATIVE), only the three tools used;
#  3. s0's benchmark checkpoint (written by logits_dump) and its F32 and BF16 GGUFs (write_gguf.py,
#     with llama.cpp's gguf-py; needs Debian's python3 and python3-numpy);
#  4. the logits check: llama-debug's last-position logits of a 16-token prompt against s0's
#     (logits_dump) on the same token ids; the script stops if they disagree (see below);
#  5. the timed rounds. Every tool's output is kept under $OUT/logs, the figures in $OUT/results.tsv.
#
# Settings (environment): LLAMA_DIR (/work/llama), NODE_LLAMA_CPP_VERSION (3.22.1, which ships
# llama.cpp's release of its llama.cpp.info.json), S0_BUILD (<repo>/build-cpu), THREADS (2), ROUNDS (3),
# REPS (3: llama-bench's and forward_bench's repetitions, the best of them counts), METRICS (all:
# "prefill512 decode1 decode16", or some of them), JOBS (2, build parallelism), OUT (a new folder
# under $LLAMA_DIR/results).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
LLAMA_DIR=${LLAMA_DIR:-/work/llama}
NODE_LLAMA_CPP_VERSION=${NODE_LLAMA_CPP_VERSION:-3.22.1}
S0_BUILD=${S0_BUILD:-$repo/build-cpu}
THREADS=${THREADS:-2}
ROUNDS=${ROUNDS:-3}
REPS=${REPS:-3}
METRICS=${METRICS:-prefill512 decode1 decode16}
JOBS=${JOBS:-2}
OUT=${OUT:-$LLAMA_DIR/results/$(date +%Y%m%d-%H%M%S)}
TOKENIZER=${S0_SHARED_DIR:-/work/shared}/fixtures/tokenizer/qwen3
PY=/usr/bin/python3  # Debian's, where python3-numpy installs (gguf-py needs numpy)

src=$LLAMA_DIR/llama.cpp
bin=$src/build/bin
gguf_f32=$LLAMA_DIR/gguf/qwen35-0.8b-random-f32.gguf
gguf_bf16=$LLAMA_DIR/gguf/qwen35-0.8b-random-bf16.gguf
# Where s0's model benchmarks keep the checkpoint (bench/model_bench_common.h: the temp folder).
checkpoint=${TMPDIR:-/tmp}/s0-bench-qwen35-0.8b
# 16 tokens under the Qwen3 tokenizer (checked below).
prompt="The quick brown fox jumps over the lazy dog while the farmer counts his sheep again"
export OMP_NUM_THREADS=$THREADS

die() { echo "compare.sh: $*" >&2; exit 1; }
"$PY" -c "import numpy" 2>/dev/null || die "$PY has no numpy: apt-get install python3-numpy"
[ -f "$TOKENIZER/tokenizer.json" ] || die "$TOKENIZER/tokenizer.json missing: set S0_SHARED_DIR"
mkdir -p "$OUT/logs" "$OUT/logits" "$LLAMA_DIR/gguf"

# 1. llama.cpp's source.
if [ ! -d "$src" ]; then
  echo "== fetching llama.cpp from node-llama-cpp@$NODE_LLAMA_CPP_VERSION"
  tmp=$(mktemp -d "$LLAMA_DIR/fetch.XXXXXX")
  (cd "$tmp" && npm pack --silent "node-llama-cpp@$NODE_LLAMA_CPP_VERSION" > /dev/null &&
    tar xzf node-llama-cpp-*.tgz package/llama/gitRelease.bundle package/llama/llama.cpp.info.json)
  cat "$tmp/package/llama/llama.cpp.info.json"; echo
  git -c advice.detachedHead=false clone -q "$tmp/package/llama/gitRelease.bundle" "$tmp/llama.cpp"
  mv "$tmp/llama.cpp" "$src"
  rm -rf "$tmp"
fi

# 2. Its CPU build: native CPU flags, no server, tests, network or UI.
llama_tools=(llama-bench llama-batched-bench llama-debug)
for t in "${llama_tools[@]}"; do
  if [ ! -x "$bin/$t" ]; then
    echo "== building llama.cpp (${llama_tools[*]}); this takes a while on 2 cores"
    launcher=(); command -v ccache > /dev/null && launcher=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
    cmake -S "$src" -B "$src/build" -DCMAKE_BUILD_TYPE=Release -DGGML_NATIVE=ON -DLLAMA_BUILD_TESTS=OFF \
      -DLLAMA_BUILD_SERVER=OFF -DLLAMA_OPENSSL=OFF -DLLAMA_BUILD_APP=OFF -DLLAMA_USE_PREBUILT_UI=OFF "${launcher[@]}" > "$OUT/logs/llama-cmake.log"
    nice -n 10 cmake --build "$src/build" -j"$JOBS" --target "${llama_tools[@]}" > "$OUT/logs/llama-build.log"
    break
  fi
done

# s0's tools.
s0_tools=(forward_bench decode_bench logits_dump)
for t in "${s0_tools[@]}"; do
  if [ ! -x "$S0_BUILD/bench/$t" ]; then
    echo "== building s0's ${s0_tools[*]} in $S0_BUILD"
    cmake -S "$repo" -B "$S0_BUILD" -DCMAKE_BUILD_TYPE=Release -DS0_CUDA=OFF > "$OUT/logs/s0-cmake.log"
    nice -n 10 cmake --build "$S0_BUILD" -j"$JOBS" --target "${s0_tools[@]}" > "$OUT/logs/s0-build.log"
    break
  fi
done

# 3 and 4. The logits check, which also writes s0's checkpoint (first use) before the GGUFs need it.
echo "== logits of a 16-token prompt, llama.cpp against s0"
llama_logits() {  # GGUF -> runs llama-debug, leaves llamacpp-<stem>.bin and -tokens.bin in $OUT/logits
  "$bin/llama-debug" -m "$1" -p "$prompt" -t "$THREADS" -c 512 --save-logits --logits-output-dir "$OUT/logits" \
    > "$OUT/logs/llama-debug-$(basename "$1" .gguf).log" 2>&1 || die "llama-debug on $1 failed"
  [ -f "$OUT/logits/llamacpp-$(basename "$1" .gguf).bin" ] || die "llama-debug wrote no logits for $1"
}
[ -f "$checkpoint/model.safetensors" ] || "$S0_BUILD/bench/logits_dump" "$OUT/logits/first.f32" 0 > /dev/null
for pair in "f32 $gguf_f32" "bf16 $gguf_bf16"; do
  set -- $pair
  if [ ! -f "$2" ]; then
    echo "== writing $2"
    nice -n 10 "$PY" "$here/write_gguf.py" --gguf-py "$src/gguf-py" --model "$checkpoint" --tokenizer "$TOKENIZER" \
      --outtype "$1" --out "$2"
  fi
done
llama_logits "$gguf_f32"
llama_logits "$gguf_bf16"
ids=$(od -An -v -t d4 "$OUT/logits/llamacpp-$(basename "$gguf_f32" .gguf)-tokens.bin" | xargs)
[ "$(wc -w <<< "$ids")" = 16 ] || die "the prompt is $(wc -w <<< "$ids") tokens under llama.cpp, not 16: $ids"
echo "token ids: $ids"
for dt in f32 bf16; do
  "$S0_BUILD/bench/logits_dump" --dtype "$dt" "$OUT/logits/s0-$dt.f32" $ids > "$OUT/logs/logits_dump-$dt.log"
done
# F32 is the check that both compute the same function: float32 arithmetic in different orders
# (2.4e-3 max abs on this prompt, logits up to 2.9; a rope base of 1e6 instead of 1e7 moves them by
# 0.19), so it is bounded. In BF16 both engines also round the activations entering their matrix
# products to bf16, at different places (each moves its logits by 0.1 to 0.2 from f32 here), so
# only the top token is checked; the lines against s0 f32 show the size of that rounding per engine.
l32="$OUT/logits/llamacpp-$(basename "$gguf_f32" .gguf).bin"
l16="$OUT/logits/llamacpp-$(basename "$gguf_bf16" .gguf).bin"
"$PY" "$here/logits_agree.py" "$l32" "$OUT/logits/s0-f32.f32" --max-abs 5e-3 --label "llama.cpp F32 vs s0 f32"
"$PY" "$here/logits_agree.py" "$l16" "$OUT/logits/s0-bf16.f32" --label "llama.cpp BF16 vs s0 bf16"
"$PY" "$here/logits_agree.py" "$l16" "$OUT/logits/s0-f32.f32" --label "llama.cpp BF16 vs s0 f32"
"$PY" "$here/logits_agree.py" "$OUT/logits/s0-bf16.f32" "$OUT/logits/s0-f32.f32" --label "s0 bf16 vs s0 f32"

# 5. Timed rounds: per metric, the four variants one after another, so that each metric's figures
# of one round were taken close together in time.
measure() {  # ROUND VARIANT METRIC PARSE_ARGS... -- COMMAND...
  local round=$1 variant=$2 metric=$3 parse=() load log value
  shift 3
  while [ "$1" != -- ]; do parse+=("$1"); shift; done
  shift
  load=$(cut -d' ' -f1 /proc/loadavg)
  log="$OUT/logs/r$round-${variant// /_}-$metric"
  "$@" > "$log.out" 2> "$log.err" || die "$* failed: see $log.err"
  value=$("$PY" "$here/parse_result.py" "${parse[@]}" < "$log.out") || die "no tokens/s in $log.out"
  printf '%s\t%s\t%s\t%s\t%s\n' "$round" "$variant" "$metric" "$value" "$load" >> "$OUT/results.tsv"
  printf 'round %s  %-15s %-11s %8s tokens/s  (load %s)\n' "$round" "$variant" "$metric" "$value" "$load"
}
# One metric of one round: the four variants back to back. The s0 command gets the dtype appended,
# the llama.cpp command the GGUF; S0_PARSE and LLAMA_PARSE are parse_result.py's arguments.
metric_round() {  # ROUND METRIC S0_PARSE LLAMA_PARSE S0_COMMAND LLAMA_COMMAND
  local dt
  for dt in f32 bf16; do measure "$1" "s0 $dt" "$2" $3 -- $5 "$dt"; done
  measure "$1" "llama.cpp F32" "$2" $4 -- $6 "$gguf_f32"
  measure "$1" "llama.cpp BF16" "$2" $4 -- $6 "$gguf_bf16"
}
s0_prefill() { "$S0_BUILD/bench/forward_bench" 512 "$REPS" --dtype "$1"; }
s0_decode1() { "$S0_BUILD/bench/decode_bench" --batches 1 --steps 32 --dtype "$1"; }
s0_decode16() { "$S0_BUILD/bench/decode_bench" --batches 16 --steps 32 --dtype "$1"; }
llama_prefill() { "$bin/llama-bench" -t "$THREADS" -r "$REPS" -o json -p 512 -n 0 -m "$1"; }
llama_decode1() { "$bin/llama-bench" -t "$THREADS" -r "$REPS" -o json -p 0 -n 128 -m "$1"; }
llama_decode16() {
  "$bin/llama-batched-bench" -t "$THREADS" -tb "$THREADS" -c 2048 -npp 16 -ntg 32 -npl 16 --output-format jsonl -m "$1"
}
wants() { [[ " $METRICS " == *" $1 "* ]]; }
echo "== $ROUNDS rounds, $THREADS threads ($(nproc) cores; uptime: $(uptime))"
for round in $(seq 1 "$ROUNDS"); do
  if wants prefill512; then metric_round "$round" prefill512 s0-forward llama-bench s0_prefill llama_prefill; fi
  if wants decode1; then metric_round "$round" decode1 "s0-decode 1" llama-bench s0_decode1 llama_decode1; fi
  if wants decode16; then metric_round "$round" decode16 "s0-decode 16" batched-bench s0_decode16 llama_decode16; fi
done
echo
echo "llama.cpp: $(cd "$src" && git log -1 --format='%h %s') from node-llama-cpp@$NODE_LLAMA_CPP_VERSION; s0: $(git -C "$repo" log -1 --format=%h)"
"$PY" "$here/table.py" "$OUT/results.tsv"
echo "(figures and logs in $OUT)"
