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
// wanted) receives the reciprocal RMS.
void rmsnorm_forward(const Tensor& x, const Tensor& w, float eps, Tensor& y, Tensor& rstd);
// dx from dy with the forward's rstd; added to dx when `accumulate` (the residual stream sums
// several branches).
void rmsnorm_backward(const Tensor& x, const Tensor& w, const Tensor& rstd, const Tensor& dy, Tensor& dx,
                      bool accumulate);

// out[n, d] = y normalised in groups of `group` consecutive channels with weight w[d] (empty for
// GateOnly), gated by silu(z[n, d]) in `order`; rstd[n * d / group] (empty for GateOnly) receives
// each group's reciprocal RMS.
void gated_rmsnorm_forward(const Tensor& y, const Tensor& z, const Tensor& w, int64_t group, float eps,
                           GateOrder order, Tensor& out, Tensor& rstd);
// dy and dz from dout, with the forward's rstd.
void gated_rmsnorm_backward(const Tensor& y, const Tensor& z, const Tensor& w, const Tensor& rstd,
                            const Tensor& dout, int64_t group, GateOrder order, Tensor& dy, Tensor& dz);
// The same with z a column block of the input projection, and dz written into a block of its
// gradient: the CPU reads and writes them in place (one pass); other devices copy.
void gated_rmsnorm_forward(const Tensor& y, const Columns& z, const Tensor& w, int64_t group, float eps,
                           GateOrder order, Tensor& out, Tensor& rstd);
void gated_rmsnorm_backward(const Tensor& y, const Columns& z, const Tensor& w, const Tensor& rstd,
                            const Tensor& dout, int64_t group, GateOrder order, Tensor& dy, const Columns& dz);

// y = x / sqrt(sum(x^2) + eps) over rows of the last `d` channels (y may be x); rnorm (one per row)
// receives 1 / sqrt(sum(x^2) + eps). GatedDeltaNet normalises q and k per key head this way.
void l2norm_forward(const Tensor& x, int64_t d, float eps, Tensor& y, Tensor& rnorm);
// dx from dy with the forward's rnorm.
void l2norm_backward(const Tensor& x, const Tensor& rnorm, const Tensor& dy, int64_t d, Tensor& dx);

}  // namespace s0::ops
