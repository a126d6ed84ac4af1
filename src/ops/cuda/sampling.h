#pragma once
// ops/sampling.h on the GPU: the argmax of each row, and each sampled row's drawn token. Results
// come back to the host (the call waits for them).
#include <cstdint>
#include <vector>

#include "ops/sampling.h"

namespace s0::ops::cuda {

std::vector<int64_t> argmax_rows(const float* logits, int64_t rows, int64_t vocab);
std::vector<int64_t> sample_rows(const float* logits, int64_t vocab, const std::vector<SampleRequest>& requests);

}  // namespace s0::ops::cuda
