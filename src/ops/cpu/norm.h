#pragma once
// RMS normalisation in its three forms: plain (x * rstd * w; zero-centred `1 + w` weights are folded
// into w when the model loads), and gated, where y is normalised in groups and multiplied by SiLU(z)
// either after normalising (Qwen3.5 GatedDeltaNet, Mamba-2 default) or before (Falcon-H1 with
// mamba_norm_before_gate = false).
#include <cstdint>

namespace s0::ops {

// y[n, d] = x * rsqrt(mean(x^2) + eps) * w; rstd[n] (optional) receives the reciprocal RMS.
void rmsnorm_forward(const float* x, const float* w, int64_t n, int64_t d, float eps, float* y, float* rstd);

enum class GateOrder { NormThenGate, GateThenNorm, GateOnly };

// out[n, d] = gated group RMS norm of y by z, groups of `group` consecutive channels, weight w[d]
// (ignored for GateOnly). rstd[n * d / group] (optional) receives each group's reciprocal RMS.
void gated_rmsnorm_forward(const float* y, const float* z, const float* w, int64_t n, int64_t d, int64_t group,
                           float eps, GateOrder order, float* out, float* rstd);

}  // namespace s0::ops
