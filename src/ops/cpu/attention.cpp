#include "ops/cpu/attention.h"

#include <cmath>
#include <limits>
#include <vector>

#include "ops/cpu/gemm.h"

namespace s0::ops {

void attention_forward(const float* q, const float* k, const float* v, int64_t T, int64_t H, int64_t Hkv, int64_t D,
                       float scale, float* out, float* lse) {
  const int64_t rep = H / Hkv;
  std::vector<float> scores(static_cast<size_t>(T * T));
  for (int64_t h = 0; h < H; ++h) {
    const int64_t kh = h / rep;
    // scores = scale * q_h k_kh^T, then a causal softmax per row.
    gemm(false, true, T, T, D, scale, q + h * D, H * D, k + kh * D, Hkv * D, 0.0f, scores.data(), T);
#pragma omp parallel for schedule(static) if (T > 64)
    for (int64_t i = 0; i < T; ++i) {
      float* row = scores.data() + i * T;
      float mx = -std::numeric_limits<float>::infinity();
      for (int64_t j = 0; j <= i; ++j) mx = std::max(mx, row[j]);
      double sum = 0;
      for (int64_t j = 0; j <= i; ++j) {
        row[j] = std::exp(row[j] - mx);
        sum += row[j];
      }
      float inv = static_cast<float>(1.0 / sum);
      for (int64_t j = 0; j <= i; ++j) row[j] *= inv;
      for (int64_t j = i + 1; j < T; ++j) row[j] = 0.0f;
      if (lse) lse[h * T + i] = mx + static_cast<float>(std::log(sum));
    }
    gemm(false, false, T, D, T, 1.0f, scores.data(), T, v + kh * D, Hkv * D, 0.0f, out + h * D, H * D);
  }
}

}  // namespace s0::ops
