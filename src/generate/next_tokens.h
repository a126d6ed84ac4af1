#pragma once
// The next token of every row of a step's logits [rows, vocab], wherever the forward left them.
// On the host each row's sampler reads its row. On a GPU only token ids and a few candidates per
// row come to the host (ops/sampling.h), never the [rows, vocab] logits: greedy rows take the GPU's
// argmax, sampled rows the GPU's most likely tokens and weight total, from which their samplers
// draw exactly as from the whole row (TokenSampler::draw). A row whose nucleus reaches past those
// candidates (a flat distribution with top_p near 1 and no small top_k) is copied whole.
#include <cstdint>
#include <vector>

#include "core/tensor.h"
#include "generate/sampler.h"

namespace s0 {

// The most likely tokens of a sampled row that a GPU hands to the host.
inline constexpr int64_t kGpuCandidates = 1024;

// Row r by samplers[r]; advances the samplers' streams as TokenSampler::next would.
std::vector<int64_t> next_tokens(const Tensor& logits, const std::vector<TokenSampler*>& samplers);

}  // namespace s0
