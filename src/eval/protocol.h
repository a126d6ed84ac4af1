#pragma once
// The paper's protocol per benchmark, in one place: how training data are sampled from the base
// model and how the adapters are trained (docs/eval.md, ../shared/datasets/README.md). `s0 collect`
// and `s0 experiment` take their defaults from here.
#include <cstdint>

#include "eval/dataset.h"

namespace s0 {

struct PaperSampling {
  double temperature = 0.7;
  double top_p = 0.95;
  int64_t max_new_tokens = 512;
  int64_t samples = 16;  // per training problem
};

// HumanEval: 16 samples per problem; GSM8K and MATH-500: 4. The rest is the same for all three.
inline PaperSampling paper_sampling(Benchmark b) {
  PaperSampling s;
  if (b != Benchmark::humaneval) s.samples = 4;
  return s;
}

// MATH-500 runs scale each state to unit norm before alpha (the paper's script); the others do not.
inline bool paper_normalize(Benchmark b) { return b == Benchmark::math500; }

}  // namespace s0
