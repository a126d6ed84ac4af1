#include "ops/cpu/activation.h"

namespace s0::ops::cpu {

void swiglu_forward(const float* gu, int64_t n, int64_t inter, float* h) {
#pragma omp parallel for schedule(static) if (n * inter > 65536)
  for (int64_t i = 0; i < n; ++i) {
    const float* g = gu + i * 2 * inter;
    const float* u = g + inter;
    float* hi = h + i * inter;
    for (int64_t j = 0; j < inter; ++j) hi[j] = silu(g[j]) * u[j];
  }
}

void swiglu_backward(const float* gu, const float* dh, int64_t n, int64_t inter, float* dgu) {
#pragma omp parallel for schedule(static) if (n * inter > 65536)
  for (int64_t i = 0; i < n; ++i) {
    const float* g = gu + i * 2 * inter;
    const float* u = g + inter;
    const float* d = dh + i * inter;
    float* dg = dgu + i * 2 * inter;
    float* du = dg + inter;
    for (int64_t j = 0; j < inter; ++j) {
      const SiluWithGrad s = silu_with_grad(g[j]);
      dg[j] = d[j] * u[j] * s.grad;
      du[j] = d[j] * s.value;
    }
  }
}

void relu2_forward(const float* u, int64_t count, float* h) {
#pragma omp parallel for schedule(static) if (count > 65536)
  for (int64_t i = 0; i < count; ++i) h[i] = u[i] > 0.0f ? u[i] * u[i] : 0.0f;
}

void relu2_backward(const float* u, const float* dh, int64_t count, float* du) {
#pragma omp parallel for schedule(static) if (count > 65536)
  for (int64_t i = 0; i < count; ++i) du[i] = u[i] > 0.0f ? 2.0f * u[i] * dh[i] : 0.0f;
}

}  // namespace s0::ops::cpu
