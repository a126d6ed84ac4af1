#pragma once
// Choosing tokens from rows of logits that live on a GPU, so that generation there never brings
// the [rows, vocab] logits to the host: greedy rows need only their argmax; a sampled row needs
// its most likely tokens in order and one total over the row, from which the host's sampler
// (generate/sampler.h, TokenSampler::draw) draws exactly as it would from the whole row. Logits on
// the host are sampled there directly (TokenSampler::next), so these have no CPU backend.
#include <cstdint>
#include <vector>

#include "core/tensor.h"

namespace s0::ops {

// The index of each row's largest logit (the first on ties) of logits [rows, vocab] float32.
std::vector<int64_t> argmax_rows(const Tensor& logits);

struct CandidateRequest {
  int64_t row = 0;
  double temperature = 1.0;  // > 0
  int64_t top_k = 0;         // tokens the total covers, 1..vocab
};

struct RowCandidates {
  std::vector<int64_t> ids;  // the row's most likely tokens, most likely first, ties by id
  std::vector<float> logits;  // theirs, in that order
  uint64_t total = 0;         // ops::sampling_weight summed over the row's top_k most likely tokens
};

// Per request, its row's min(count, top_k) most likely tokens and the total (rows up to
// kMaxSampledVocab tokens, ops/sampling_weight.h).
std::vector<RowCandidates> top_candidates(const Tensor& logits, const std::vector<CandidateRequest>& requests,
                                          int64_t count);

}  // namespace s0::ops
