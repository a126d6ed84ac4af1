#pragma once
// Moving column blocks between row-major matrices: fused projections produce one wide matrix whose
// column ranges are the inputs of different ops. Large blocks are moved by all threads (run on one,
// such a copy left the other threads waiting between the ops around it).
#include <cstdint>
#include <cstring>

namespace s0::ops::cpu {

// dst[n, cols] = src[:, begin : begin + cols] where src rows have `src_stride` elements.
inline void copy_cols(const float* src, int64_t n, int64_t src_stride, int64_t begin, int64_t cols, float* dst) {
#pragma omp parallel for schedule(static) if (n * cols > 65536)
  for (int64_t i = 0; i < n; ++i) std::memcpy(dst + i * cols, src + i * src_stride + begin, sizeof(float) * cols);
}

// dst[:, begin : begin + cols] (+)= src[n, cols]; the adjoint of copy_cols.
inline void scatter_cols(const float* src, int64_t n, int64_t cols, float* dst, int64_t dst_stride, int64_t begin,
                         bool accumulate) {
#pragma omp parallel for schedule(static) if (n * cols > 65536)
  for (int64_t i = 0; i < n; ++i) {
    float* d = dst + i * dst_stride + begin;
    const float* s = src + i * cols;
    if (accumulate) {
      for (int64_t j = 0; j < cols; ++j) d[j] += s[j];
    } else {
      std::memcpy(d, s, sizeof(float) * cols);
    }
  }
}

}  // namespace s0::ops::cpu
