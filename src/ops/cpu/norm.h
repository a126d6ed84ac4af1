#pragma once
// RMS normalisation in its three forms: plain (x * rstd * w; zero-centred `1 + w` weights are folded
// into w when the model loads), and gated, where y is normalised in groups and multiplied by SiLU(z)
// either after normalising (Qwen3.5 GatedDeltaNet, Mamba-2 default) or before (Falcon-H1 with
// mamba_norm_before_gate = false).
#include <cstdint>

#include "ops/gate_order.h"

namespace s0::ops::cpu {

// y[n, d] = x * rsqrt(mean(x^2) + eps) * w; rstd[n] (optional) receives the reciprocal RMS.
void rmsnorm_forward(const float* x, const float* w, int64_t n, int64_t d, float eps, float* y, float* rstd);
// dx[n, d] from dy[n, d], with rstd[n] saved by the forward; added to dx when `accumulate` (the
// residual stream sums several branches). No weight gradient: weights are frozen.
void rmsnorm_backward(const float* x, const float* w, const float* rstd, const float* dy, int64_t n, int64_t d,
                      float* dx, bool accumulate);

// The input gradient of u = x * r(x), r = (c * sum(x^2) + eps)^(-1/2), over one row of `len`:
// dx = r * du - x * (c * r^3) * sum(x * du). c = 1/len for RMS norms, 1 for the L2 norm; r is the
// forward's saved value. Added to dx when `accumulate`.
void norm_row_backward(const float* x, float r, double c, const float* du, int64_t len, float* dx, bool accumulate);

using s0::ops::GateOrder;  // ops/gate_order.h

// out[n, d] = gated group RMS norm of y by z, groups of `group` consecutive channels, weight w[d]
// (ignored for GateOnly). rstd[n * d / group] (optional) receives each group's reciprocal RMS.
void gated_rmsnorm_forward(const float* y, const float* z, const float* w, int64_t n, int64_t d, int64_t group,
                           float eps, GateOrder order, float* out, float* rstd);
// dy[n, d] and dz[n, d] from dout[n, d]; rstd as saved by the forward (unused, may be null, for
// GateOnly).
void gated_rmsnorm_backward(const float* y, const float* z, const float* w, const float* rstd, const float* dout,
                            int64_t n, int64_t d, int64_t group, GateOrder order, float* dy, float* dz);
// The same with z (and dz) in rows of stride ldz (lddz): a block of the input projection's columns
// (and of its gradient's), read and written in place.
void gated_rmsnorm_forward_strided(const float* y, const float* z, int64_t ldz, const float* w, int64_t n, int64_t d,
                                   int64_t group, float eps, GateOrder order, float* out, float* rstd);
void gated_rmsnorm_backward_strided(const float* y, const float* z, int64_t ldz, const float* w, const float* rstd,
                                    const float* dout, int64_t n, int64_t d, int64_t group, GateOrder order, float* dy,
                                    float* dz, int64_t lddz);

}  // namespace s0::ops::cpu
