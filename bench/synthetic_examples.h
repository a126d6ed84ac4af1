#pragma once
// Training examples for benchmarks on random weights (which solve nothing, so no collected data
// exists): the paper's HumanEval setting, lengths uniform in [250, 450] tokens of which the first
// 55% are the prompt, ids uniform over [0, vocab).
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "io/json.h"
#include "tune/objective.h"

namespace s0::bench {

inline std::vector<Example> synthetic_examples(int64_t count, int64_t vocab, uint64_t seed = 1) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int64_t> length(250, 450), token(0, vocab - 1);
  std::vector<Example> examples;
  for (int64_t e = 0; e < count; ++e) {
    Example ex{std::vector<int64_t>(static_cast<size_t>(length(rng))), 0};
    for (int64_t& id : ex.ids) id = token(rng);
    ex.prompt_len = static_cast<int64_t>(0.55 * static_cast<double>(ex.ids.size()));
    examples.push_back(std::move(ex));
  }
  return examples;
}

// As `s0 train --data` reads them: {"ids": [...], "prompt_len": n} per line.
inline std::string training_lines(const std::vector<Example>& examples) {
  std::string lines;
  for (const Example& e : examples) lines += Json{{"ids", e.ids}, {"prompt_len", e.prompt_len}}.dump() + "\n";
  return lines;
}

}  // namespace s0::bench
