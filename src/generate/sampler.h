#pragma once
// Picking the next token from a row of logits: greedy, or temperature sampling restricted by top-k
// and top-p. Every sequence owns its random stream, seeded from the run's seed and the sequence's
// own index, so what it samples never depends on what else is in the batch.
//
// A draw needs only the row's most likely tokens in order, one total over the row and 64 random
// bits of the sequence's stream: next() finds the tokens in a row on the host and draw() draws; on
// a GPU, ops/sampling.h makes the same draw from the row where it is, with take_draw_bits().
// Token weights and the draw's arithmetic are ops/sampling_weight.h's, so both pick the same token.
#include <cstdint>
#include <optional>
#include <random>

namespace s0 {

struct SamplingOptions {
  double temperature = 0.0;  // 0 = greedy
  double top_p = 1.0;        // keep the smallest set of most likely tokens whose mass reaches top_p
  int64_t top_k = 0;         // keep the k most likely tokens; 0 = all
  uint64_t seed = 0;
  // Fails, naming the field, on a negative temperature, top_p outside (0, 1], or a negative top_k.
  void validate() const;
  // The number of tokens top-k keeps in a row of `vocab`.
  int64_t kept_by_top_k(int64_t vocab) const { return top_k > 0 && top_k < vocab ? top_k : vocab; }
};

// A row's most likely tokens, from most to least likely (ties by id), with their weights
// (ops::sampling_weight against the row's largest logit), and the total weight of the row's
// kept_by_top_k most likely tokens.
struct Candidates {
  const int64_t* ids = nullptr;
  const uint64_t* weights = nullptr;  // of ids, in the same order
  int64_t count = 0;              // at least 1
  uint64_t total = 0;
  bool all = false;  // the candidates are every token top-k keeps (nothing beyond them is drawn)
};

class TokenSampler {
 public:
  // `stream` tells sequences apart (e.g. the prompt's index in the run).
  TokenSampler(const SamplingOptions& options, uint64_t stream);
  const SamplingOptions& options() const { return options_; }
  bool greedy() const { return options_.temperature == 0.0; }

  // The next token from a whole row on the host.
  int64_t next(const float* logits, int64_t vocab);
  // The next token from a row's candidates (not for greedy sampling): the smallest most likely
  // prefix whose weight reaches top_p of the total, then one draw of the stream among it. None,
  // with the stream untouched, when that prefix runs past the candidates (the caller then needs
  // more of the row).
  std::optional<int64_t> draw(const Candidates& c);
  // The random bits of the stream's next draw, for a draw made elsewhere (ops::sample_rows on a
  // GPU): the stream advances as one draw advances it.
  uint64_t take_draw_bits() { return rng_(); }

 private:
  SamplingOptions options_;
  std::mt19937_64 rng_;
};

// The index of the largest logit (the first one on ties).
int64_t argmax(const float* logits, int64_t n);

}  // namespace s0
