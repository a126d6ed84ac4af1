#pragma once
// ops/sampling.h on the GPU: the argmax of each row, and each sampled row's drawn token, written to
// device memory `tokens` in stream order (the calls do not wait).
#include <cstdint>
#include <vector>

#include "ops/sampling.h"

namespace s0::ops::cuda {

void argmax_rows(const float* logits, int64_t rows, int64_t vocab, int64_t* tokens);
void sample_rows(const float* logits, int64_t vocab, const std::vector<SampleRequest>& requests, int64_t* tokens);

}  // namespace s0::ops::cuda
