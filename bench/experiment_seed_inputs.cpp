// The inputs of bench/experiment_seed_bench.sh: a random checkpoint of one experiment seed's model
// shape, with a real tokenizer beside it (HumanEval prompts are text), and synthetic training data
// (random weights solve no problem, so collection keeps nothing to train on).
//   build/bench/experiment_seed_inputs SHAPE OUT_DIR TOKENIZER_DIR [examples=48]
// SHAPE: qwen35-4b (Qwen3.5-4B's shape, bench/model_bench_common.h; bf16, ~8.4 GB) or tiny (a 4-layer
// float32 model with the 4B's vocabulary layout, for a smoke run on the CPU). TOKENIZER_DIR holds
// tokenizer.json and tokenizer_config.json (the shared fixtures' Qwen3 tokenizer: its ids all lie
// within the model's vocabulary; ids the random model samples past it decode to nothing). Writes
// OUT_DIR/model/ (kept when already there: the 4B checkpoint takes minutes to write) and
// OUT_DIR/train.jsonl, then prints "examples N tokens T" (T: the tokens of one training step).
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "bench/model_bench_common.h"
#include "bench/synthetic_examples.h"
#include "io/atomic_file.h"
#include "io/file.h"

using namespace s0;
namespace fs = std::filesystem;

namespace {

// The Qwen3 tokenizer's end of turn, <|im_end|>: the random model's EOS, so a sampled one ends a
// completion as it would with a real model.
constexpr int64_t kImEnd = 151645;

Qwen35Dims dims_of(const std::string& shape) {
  Qwen35Dims d = bench::qwen35_4b_dims();
  d.eos_token_id = kImEnd;
  // tiny: the 4B's vocabulary (its LM head), every kind of layer once over.
  return shape == "qwen35-4b" ? d : tiny_qwen35_dims(d.vocab, kImEnd);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4 || argc > 5) {
    std::fprintf(stderr, "usage: %s qwen35-4b|tiny OUT_DIR TOKENIZER_DIR [examples=48]\n", argv[0]);
    return 2;
  }
  const std::string shape = argv[1];
  const fs::path out = argv[2], tokenizer = argv[3];
  const int64_t n_examples = argc > 4 ? std::atoll(argv[4]) : 48;
  if (shape != "qwen35-4b" && shape != "tiny") {
    std::fprintf(stderr, "experiment_seed_inputs: unknown shape %s (qwen35-4b or tiny)\n", shape.c_str());
    return 2;
  }
  if (n_examples < 1) {
    std::fprintf(stderr, "experiment_seed_inputs: examples must be at least 1, got %s\n", argv[4]);
    return 2;
  }
  for (const char* f : {"tokenizer.json", "tokenizer_config.json"})
    if (!fs::is_regular_file(tokenizer / f)) {
      std::fprintf(stderr, "experiment_seed_inputs: %s: no such file\n", (tokenizer / f).c_str());
      return 2;
    }
  const Qwen35Dims d = dims_of(shape);
  const fs::path model = out / "model";
  if (!fs::exists(model / "model.safetensors")) {
    std::fprintf(stderr, "writing the random %s checkpoint to %s ...\n", shape.c_str(), model.c_str());
    write_random_qwen35(model, d);
  }
  for (const char* f : {"tokenizer.json", "tokenizer_config.json"})
    write_file_atomic(model / f, read_file(tokenizer / f));
  const std::vector<Example> examples = bench::synthetic_examples(n_examples, d.vocab);
  int64_t tokens = 0;
  for (const Example& e : examples) tokens += static_cast<int64_t>(e.ids.size());
  write_file_atomic(out / "train.jsonl", bench::training_lines(examples));
  std::printf("examples %lld tokens %lld\n", static_cast<long long>(n_examples), static_cast<long long>(tokens));
  return 0;
}
