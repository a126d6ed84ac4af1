#pragma once
// Softmax cross-entropy of rows of logits against target tokens (the completion positions of a
// loss), forward and forward + backward.
#include <cstdint>
#include <vector>

#include "core/tensor.h"

namespace s0::ops {

// Per-row losses for logits[R, V]: logsumexp(logits[r]) - logits[r, targets[r]].
std::vector<float> cross_entropy_forward(const Tensor& logits, const int32_t* targets);
// Rows [begin, end) of logits: writes sum_r weights[r] * loss_r to sums[slot] and overwrites those
// rows with the gradient weights[r] * (softmax(logits[r]) - onehot(targets[r])). targets and weights
// are indexed from `begin`. sums is float64 on the logits' device: a GPU training step queues every
// part of its loss and reads them to the host once, with the whole step queued, instead of
// waiting for the GPU at each part.
void cross_entropy_forward_backward(Tensor& logits, int64_t begin, int64_t end, const int32_t* targets,
                                    const float* weights, Tensor& sums, int64_t slot);

}  // namespace s0::ops
