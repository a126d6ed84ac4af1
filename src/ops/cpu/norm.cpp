#include "ops/cpu/norm.h"

#include <cmath>

#include "ops/cpu/activation.h"

namespace s0::ops {

namespace {
inline float group_rstd(const float* x, int64_t d, float eps) {
  double ss = 0;  // double accumulation keeps long rows exact to float precision
  for (int64_t j = 0; j < d; ++j) ss += static_cast<double>(x[j]) * x[j];
  return static_cast<float>(1.0 / std::sqrt(ss / static_cast<double>(d) + eps));
}
}  // namespace

void rmsnorm_forward(const float* x, const float* w, int64_t n, int64_t d, float eps, float* y, float* rstd) {
#pragma omp parallel for schedule(static) if (n * d > 65536)
  for (int64_t i = 0; i < n; ++i) {
    const float* xi = x + i * d;
    float r = group_rstd(xi, d, eps);
    if (rstd) rstd[i] = r;
    float* yi = y + i * d;
    for (int64_t j = 0; j < d; ++j) yi[j] = xi[j] * r * w[j];
  }
}

void gated_rmsnorm_forward(const float* y, const float* z, const float* w, int64_t n, int64_t d, int64_t group,
                           float eps, GateOrder order, float* out, float* rstd) {
  const int64_t groups = d / group;
#pragma omp parallel for schedule(static) if (n * d > 65536)
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t g = 0; g < groups; ++g) {
      const int64_t off = i * d + g * group;
      const float* yi = y + off;
      const float* zi = z + off;
      float* oi = out + off;
      const float* wg = w ? w + g * group : nullptr;
      if (order == GateOrder::GateOnly) {
        for (int64_t j = 0; j < group; ++j) oi[j] = yi[j] * silu(zi[j]);
        continue;
      }
      if (order == GateOrder::GateThenNorm) {
        for (int64_t j = 0; j < group; ++j) oi[j] = yi[j] * silu(zi[j]);
        float r = group_rstd(oi, group, eps);
        if (rstd) rstd[i * groups + g] = r;
        for (int64_t j = 0; j < group; ++j) oi[j] = oi[j] * r * wg[j];
      } else {
        float r = group_rstd(yi, group, eps);
        if (rstd) rstd[i * groups + g] = r;
        for (int64_t j = 0; j < group; ++j) oi[j] = yi[j] * r * wg[j] * silu(zi[j]);
      }
    }
  }
}

}  // namespace s0::ops
