#pragma once
// Causal depthwise 1-D convolution followed by SiLU, as the recurrent mixers apply it to their
// projected inputs: channel c at time t sees its own last K inputs.
#include <cstdint>

namespace s0::ops::cpu {

// x[T, C] with row stride ldx (columns of a wider projection are read in place), w[C, K] (PyTorch
// Conv1d weight [C, 1, K] flattened), bias[C] or null. `history` [K-1, C] holds the inputs before
// t = 0 (null = zeros, a fresh sequence). y[T, C] = silu(pre); pre[T, C] (optional) keeps the
// pre-activation for the backward.
void conv1d_silu_forward(const float* x, int64_t ldx, const float* w, const float* bias, const float* history,
                         int64_t T, int64_t C, int64_t K, float* y, float* pre);
// history[K-1, C] becomes the last K-1 inputs of (history, x[T, C]): the window a later call
// continues from. `history` must hold K-1 rows (zeros for a fresh sequence); x has row stride ldx.
void conv1d_advance_history(float* history, const float* x, int64_t ldx, int64_t T, int64_t C, int64_t K);
// dx[T, C] (row stride lddx: written in place into a projection's gradient) from dy[T, C], with
// pre[T, C] saved by the forward. Only the gradient to x: S0 tuning needs none for history or the
// weights, and with pre saved neither x nor history is read.
void conv1d_silu_backward(const float* w, const float* pre, const float* dy, int64_t T, int64_t C, int64_t K,
                          float* dx, int64_t lddx);

}  // namespace s0::ops::cpu
