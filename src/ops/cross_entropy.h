#pragma once
// Softmax cross-entropy of rows of logits against target tokens (the completion positions of a
// loss), forward and forward + backward.
#include <cstdint>
#include <vector>

#include "core/tensor.h"

namespace s0::ops {

// Per-row losses for logits[R, V]: logsumexp(logits[r]) - logits[r, targets[r]].
std::vector<float> cross_entropy_forward(const Tensor& logits, const int32_t* targets);
// Rows [begin, end) of logits: writes sum_r weights[r] * loss_r to sums[slot] and the gradient
// weights[r] * (softmax(logits[r]) - onehot(targets[r])) into the same rows of grad, a tensor of
// logits' shape: float32 (logits itself, overwritten in place, or another), or on a GPU bf16, the
// gradient rounded to nearest even as the LM head's backward GEMM takes it
// (ops::linear_grad_dtype), which spares that GEMM a rounding pass over the float32 rows.
// targets and weights are indexed from `begin`. sums is float64 on the logits' device: a GPU
// training step queues every part of its loss and reads them to the host once, with the whole step
// queued, instead of waiting for the GPU at each part.
void cross_entropy_forward_backward(const Tensor& logits, int64_t begin, int64_t end, const int32_t* targets,
                                    const float* weights, Tensor& sums, int64_t slot, Tensor& grad);

}  // namespace s0::ops
