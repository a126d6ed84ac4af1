#pragma once
// Row-wise L2 normalisation x / sqrt(sum x^2 + eps), as GatedDeltaNet applies it to queries and keys.
#include <cstdint>

namespace s0::ops::cpu {

// y[n, d]; rnorm[n] (optional) receives 1 / sqrt(sum x^2 + eps).
void l2norm_forward(const float* x, int64_t n, int64_t d, float eps, float* y, float* rnorm);
// dx[n, d] from dy[n, d], with rnorm[n] saved by the forward.
void l2norm_backward(const float* x, const float* rnorm, const float* dy, int64_t n, int64_t d, float* dx);

}  // namespace s0::ops::cpu
