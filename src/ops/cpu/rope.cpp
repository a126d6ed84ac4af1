#include "ops/cpu/rope.h"

#include <cmath>
#include <vector>

namespace s0::ops::cpu {

namespace {
// sign = +1 rotates forward, -1 applies the transpose.
void rope_apply(float* x, const int64_t* pos, int64_t T, int64_t H, int64_t D, int64_t rot_dim, double theta,
                double sign) {
  const int64_t half = rot_dim / 2;
  std::vector<double> inv(static_cast<size_t>(half));
  for (int64_t i = 0; i < half; ++i)
    inv[i] = 1.0 / std::pow(theta, static_cast<double>(2 * i) / static_cast<double>(rot_dim));
#pragma omp parallel for schedule(static) if (T * H * D > 65536)
  for (int64_t t = 0; t < T; ++t) {
    std::vector<float> c(static_cast<size_t>(half)), s(static_cast<size_t>(half));
    for (int64_t i = 0; i < half; ++i) {
      // Angles in double: positions reach 1e5+ and float angles would lose the low digits.
      double a = static_cast<double>(pos[t]) * inv[i];
      c[i] = static_cast<float>(std::cos(a));
      s[i] = static_cast<float>(sign * std::sin(a));
    }
    for (int64_t h = 0; h < H; ++h) {
      float* xh = x + (t * H + h) * D;
      for (int64_t i = 0; i < half; ++i) {
        float x1 = xh[i], x2 = xh[i + half];
        xh[i] = x1 * c[i] - x2 * s[i];
        xh[i + half] = x2 * c[i] + x1 * s[i];
      }
    }
  }
}
}  // namespace

void rope_forward(float* x, const int64_t* pos, int64_t T, int64_t H, int64_t D, int64_t rot_dim, double theta) {
  rope_apply(x, pos, T, H, D, rot_dim, theta, 1.0);
}

void rope_backward(float* dx, const int64_t* pos, int64_t T, int64_t H, int64_t D, int64_t rot_dim, double theta) {
  rope_apply(dx, pos, T, H, D, rot_dim, theta, -1.0);
}

}  // namespace s0::ops::cpu
