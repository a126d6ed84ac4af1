#pragma once
// CUDA softmax cross-entropy over rows of logits (the contract of ops/cross_entropy.h): one block
// per row, reductions in a fixed order. The forward's per-row losses come back to the host; the
// training part's weighted sum is added up on the GPU in row order, as the CPU adds it, and stays
// there.
#include <cstdint>
#include <vector>

#include "core/tensor.h"

namespace s0::ops::cuda {

std::vector<float> cross_entropy_forward(const Tensor& logits, const int32_t* targets);
void cross_entropy_forward_backward(const Tensor& logits, int64_t begin, int64_t end, const int32_t* targets,
                                    const float* weights, Tensor& sums, int64_t slot, Tensor& grad);

}  // namespace s0::ops::cuda
