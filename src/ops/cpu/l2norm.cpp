#include "ops/cpu/l2norm.h"

#include <cmath>

#include "ops/cpu/norm.h"

namespace s0::ops::cpu {

void l2norm_forward(const float* x, int64_t n, int64_t d, float eps, float* y, float* rnorm) {
#pragma omp parallel for schedule(static) if (n * d > 65536)
  for (int64_t i = 0; i < n; ++i) {
    const float* xi = x + i * d;
    double ss = 0;
    for (int64_t j = 0; j < d; ++j) ss += static_cast<double>(xi[j]) * xi[j];
    float r = static_cast<float>(1.0 / std::sqrt(ss + eps));
    if (rnorm) rnorm[i] = r;
    for (int64_t j = 0; j < d; ++j) y[i * d + j] = xi[j] * r;
  }
}

void l2norm_backward(const float* x, const float* rnorm, const float* dy, int64_t n, int64_t d, float* dx) {
#pragma omp parallel for schedule(static) if (n * d > 65536)
  for (int64_t i = 0; i < n; ++i) norm_row_backward(x + i * d, rnorm[i], 1.0, dy + i * d, d, dx + i * d, false);
}

}  // namespace s0::ops::cpu
