#pragma once
// RMS and L2 normalisation. RMS norms run over the last `d = w.numel()` channels of a row-major
// tensor (so [N, hidden] rows, or [N, heads, D] head by head), plain or gated; zero-centred `1 + w`
// weights are folded into w when the model loads. Forward and backward side by side; no weight
// gradient (weights are frozen).
#include <cstdint>

#include "core/tensor.h"
#include "ops/columns.h"
#include "ops/gate_order.h"

namespace s0::ops {

// y = x * rsqrt(mean(x^2) + eps) * w row by row (y may be x); rstd (one per row, or empty when not
// wanted) receives the reciprocal RMS. On a GPU y may be bf16, as the gated norm's out: the operand
// of the bf16 GEMM that reads it next (ops::linear_input_dtype).
void rmsnorm_forward(const Tensor& x, const Tensor& w, float eps, Tensor& y, Tensor& rstd);
// dx from dy with the forward's rstd; added to dx when `accumulate` (the residual stream sums
// several branches). dx_rounded, when given (bf16, dx's shape), receives the resulting dx rounded to
// bf16 in the same pass: the residual stream's gradient as the GEMMs that read it next would round
// it (ops::linear_grad_dtype), so they need no rounding pass of their own.
void rmsnorm_backward(const Tensor& x, const Tensor& w, const Tensor& rstd, const Tensor& dy, Tensor& dx,
                      bool accumulate, Tensor* dx_rounded = nullptr);
// The same over the rows of d = w.numel() channels that sit side by side in a column block x (a
// projection's heads, read in place on a GPU), dy[rows * count / d, d] contiguous, dx written into
// the gradient's column block (attention's per-head q and k norms).
void rmsnorm_backward(const Columns& x, const Tensor& w, const Tensor& rstd, const Tensor& dy, const Columns& dx);

// out[n, d] = y normalised in groups of `group` consecutive channels with weight w[d] (empty for
// GateOnly), gated by silu(z[n, d]) in `order`; rstd[n * d / group] (empty for GateOnly) receives
// each group's reciprocal RMS. z is a projection's column block (the GPU reads it in place).
void gated_rmsnorm_forward(const Tensor& y, const Columns& z, const Tensor& w, int64_t group, float eps,
                           GateOrder order, Tensor& out, Tensor& rstd);
// dy and dz (written into the gradient's column block) from dout, with the forward's rstd. On a GPU
// the gradient holding dz may be bf16 (ops::linear_grad_dtype), each entry rounded as its GEMM
// would round it.
void gated_rmsnorm_backward(const Tensor& y, const Columns& z, const Tensor& w, const Tensor& rstd,
                            const Tensor& dout, int64_t group, GateOrder order, Tensor& dy, const Columns& dz);

// y = x / sqrt(sum(x^2) + eps) over each `d` consecutive channels of a column block x (heads side
// by side; the GPU reads them in place), y[rows * count / d, d] contiguous; rnorm (one per head row)
// receives 1 / sqrt(sum(x^2) + eps). GatedDeltaNet normalises q and k per key head this way.
void l2norm_forward(const Columns& x, int64_t d, float eps, Tensor& y, Tensor& rnorm);
// dx (written into the gradient's column block) from dy with the forward's rnorm.
void l2norm_backward(const Columns& x, const Tensor& rnorm, const Tensor& dy, int64_t d, const Columns& dx);

}  // namespace s0::ops
