#pragma once
// CUDA causal depthwise conv1d + SiLU over a packed batch: the same contract as ops/conv1d.h (one
// thread per channel and run of rows, each sequence reading its own history window), for kernels of
// up to 8 taps.
#include <vector>

#include "core/tensor.h"
#include "ops/columns.h"
#include "ops/varlen.h"

namespace s0::ops::cuda {

constexpr int kMaxConvTaps = 8;
// The taps of conv weights w[C, K]; fails unless 1 <= K <= kMaxConvTaps.
int conv_taps(const Tensor& w, int64_t C);

void conv1d_silu_forward(const Columns& x, const Tensor& w, const Tensor& bias, const Varlen& seqs,
                         const std::vector<SequenceStart>& starts, Tensor& y, Tensor& pre);
// dx: float32, or bf16 (a bf16 GEMM's operand, ops/cuda/output.h).
void conv1d_silu_backward(const Tensor& w, const Tensor& pre, const Tensor& dy, const Varlen& seqs,
                          const Columns& dx);

}  // namespace s0::ops::cuda
