#pragma once
// The next token of every row of a step's logits [rows, vocab], wherever the forward left them.
// On the host each row's sampler reads its row. On a GPU only one token id per row comes to the
// host, never the [rows, vocab] logits: greedy rows take the GPU's argmax, sampled rows the GPU's
// draw (ops/sampling.h) with their sampler's random bits, the token the sampler would draw from
// the whole row. The tokens stay on the logits' device too, where the next decode step reads them
// (the scheduler queues it before the host has read them: no wait for the host between steps).
#include <cstdint>
#include <vector>

#include "core/tensor.h"
#include "generate/sampler.h"
#include "ops/host_copy.h"

namespace s0 {

struct ChosenTokens {
  Tensor on_device;  // I64 [rows] on the logits' device
  ops::HostCopy copy;

  // The tokens on the host; the first call waits for them.
  std::vector<int64_t> on_host() { return copy.get().to_i64(); }
};

// Row r by samplers[r]; advances the samplers' streams as TokenSampler::next would.
ChosenTokens next_tokens(const Tensor& logits, const std::vector<TokenSampler*>& samplers);

}  // namespace s0
