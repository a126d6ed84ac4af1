#pragma once
// The next token of every row of a step's logits [rows, vocab], wherever the forward left them.
// On the host each row's sampler reads its row. On a GPU only one token id per row comes to the
// host, never the [rows, vocab] logits: greedy rows take the GPU's argmax, sampled rows the GPU's
// draw (ops/sampling.h) with their sampler's random bits, the token the sampler would draw from
// the whole row.
#include <cstdint>
#include <vector>

#include "core/tensor.h"
#include "generate/sampler.h"

namespace s0 {

// Row r by samplers[r]; advances the samplers' streams as TokenSampler::next would.
std::vector<int64_t> next_tokens(const Tensor& logits, const std::vector<TokenSampler*>& samplers);

}  // namespace s0
