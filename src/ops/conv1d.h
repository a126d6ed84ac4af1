#pragma once
// The recurrent mixers' causal depthwise conv + SiLU over a packed batch: channel c at time t sees
// its own last K inputs, each sequence from its own history (zeros, or in generation the cached
// window of its last K-1 inputs, which then moves past this call's inputs).
#include <vector>

#include "core/tensor.h"
#include "ops/columns.h"
#include "ops/varlen.h"

namespace s0::ops {

// x: C columns of the projection, read in place; w[C, K], bias[C] or empty; starts: per sequence
// (only `window` is read here). y[N, C] = silu(pre); pre[N, C] is kept for the backward.
void conv1d_silu_forward(const Columns& x, const Tensor& w, const Tensor& bias, const Varlen& seqs,
                         const std::vector<SequenceStart>& starts, Tensor& y, Tensor& pre);
// dx (columns of the projection's gradient, overwritten) from dy[N, C], with the forward's pre.
// Only the gradient to x: S0 tuning needs none for the history or the weights. On a GPU the
// gradient may be bf16: the projection's GEMM operand (ops::linear_grad_dtype), each entry rounded
// as that GEMM would round it.
void conv1d_silu_backward(const Tensor& w, const Tensor& pre, const Tensor& dy, const Varlen& seqs,
                          const Columns& dx);

}  // namespace s0::ops
