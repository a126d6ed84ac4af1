#pragma once
// Picking the next token from a row of logits: greedy, or temperature sampling restricted by top-k
// and top-p. Every sequence owns its random stream, seeded from the run's seed and the sequence's
// own index, so what it samples never depends on what else is in the batch.
#include <cstdint>
#include <random>

namespace s0 {

struct SamplingOptions {
  double temperature = 0.0;  // 0 = greedy
  double top_p = 1.0;        // keep the smallest set of most likely tokens whose mass reaches top_p
  int64_t top_k = 0;         // keep the k most likely tokens; 0 = all
  uint64_t seed = 0;
  // Fails, naming the field, on a negative temperature, top_p outside (0, 1], or a negative top_k.
  void validate() const;
};

class TokenSampler {
 public:
  // `stream` tells sequences apart (e.g. the prompt's index in the run).
  TokenSampler(const SamplingOptions& options, uint64_t stream);
  int64_t next(const float* logits, int64_t vocab);

 private:
  SamplingOptions options_;
  std::mt19937_64 rng_;
};

// The index of the largest logit (the first one on ties).
int64_t argmax(const float* logits, int64_t n);

}  // namespace s0
