#pragma once
// Choosing tokens from rows of logits that live on a GPU, so that generation there never brings
// the [rows, vocab] logits to the host, only one token per row: greedy rows take their argmax;
// sampled rows make TokenSampler's draw (generate/sampler.h) on the GPU, from the random bits the
// host's stream hands over, so they pick the token the host would pick from the whole row. Logits
// on the host are sampled there directly (TokenSampler::next), so these have no CPU backend.
#include <cstdint>
#include <vector>

#include "core/tensor.h"

namespace s0::ops {

// tokens[r] = the index of row r's largest logit (the first on ties), for logits [rows, vocab]
// float32 and tokens I64 [rows] on the same device.
void argmax_rows(const Tensor& logits, Tensor& tokens);

struct SampleRequest {
  int64_t row = 0;
  double temperature = 1.0;  // > 0
  int64_t top_k = 0;         // the most likely tokens kept, 1..vocab
  double top_p = 1.0;        // (0, 1]
  uint64_t random = 0;       // the draw's bits (TokenSampler::take_draw_bits)
};

// Per request, tokens[request.row] = the token its row draws: the row's top_k most likely tokens
// (ties by id), the nucleus reaching top_p of their weight (ops/sampling_weight.h), and the token at
// the uniform point `random` gives in it. Rows up to kMaxSampledVocab tokens; other rows of tokens
// are left as they are.
void sample_rows(const Tensor& logits, const std::vector<SampleRequest>& requests, Tensor& tokens);

}  // namespace s0::ops
