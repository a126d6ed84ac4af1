#include "ops/cpu/rowwise_gemm.h"

#include <immintrin.h>

#include <cmath>
#include <vector>

namespace s0::ops {

namespace {

// Every y[i, j] is summed the same way: 16 (float) or 8 (double) lanes, lane l holding the products
// at k = l mod lanes accumulated by fused multiply-add in increasing k, then a fixed pairwise
// reduction of the lanes. Rows are processed R at a time only to share the loads of W; each row's
// arithmetic is the same for every R, so a result never depends on the call's other rows.

float reduce16(const float* lane) {
  float v[16];
  for (int l = 0; l < 16; ++l) v[l] = lane[l];
  for (int width = 8; width > 0; width /= 2)
    for (int l = 0; l < width; ++l) v[l] += v[l + width];
  return v[0];
}

double reduce8(const double* lane) {
  double v[8];
  for (int l = 0; l < 8; ++l) v[l] = lane[l];
  for (int width = 4; width > 0; width /= 2)
    for (int l = 0; l < width; ++l) v[l] += v[l + width];
  return v[0];
}

// dot(x_r, w) for R rows of x (row stride `in`), float32 accumulation.
template <int R>
void dots_f32(const float* x, int64_t in, const float* w, float* out) {
  __m256 acc[R][2];
  for (int r = 0; r < R; ++r) acc[r][0] = acc[r][1] = _mm256_setzero_ps();
  int64_t k = 0;
  for (; k + 16 <= in; k += 16) {
    const __m256 w0 = _mm256_loadu_ps(w + k), w1 = _mm256_loadu_ps(w + k + 8);
    for (int r = 0; r < R; ++r) {
      acc[r][0] = _mm256_fmadd_ps(_mm256_loadu_ps(x + r * in + k), w0, acc[r][0]);
      acc[r][1] = _mm256_fmadd_ps(_mm256_loadu_ps(x + r * in + k + 8), w1, acc[r][1]);
    }
  }
  for (int r = 0; r < R; ++r) {
    alignas(32) float lane[16];
    _mm256_store_ps(lane, acc[r][0]);
    _mm256_store_ps(lane + 8, acc[r][1]);
    for (int64_t t = k, l = 0; t < in; ++t, ++l) lane[l] = std::fma(x[r * in + t], w[t], lane[l]);
    out[r] = reduce16(lane);
  }
}

// The same with x already widened to double and W widened on load: every product is exact.
template <int R>
void dots_f64(const double* x, int64_t in, const float* w, double* out) {
  __m256d acc[R][2];
  for (int r = 0; r < R; ++r) acc[r][0] = acc[r][1] = _mm256_setzero_pd();
  int64_t k = 0;
  for (; k + 8 <= in; k += 8) {
    const __m256d w0 = _mm256_cvtps_pd(_mm_loadu_ps(w + k)), w1 = _mm256_cvtps_pd(_mm_loadu_ps(w + k + 4));
    for (int r = 0; r < R; ++r) {
      acc[r][0] = _mm256_fmadd_pd(_mm256_loadu_pd(x + r * in + k), w0, acc[r][0]);
      acc[r][1] = _mm256_fmadd_pd(_mm256_loadu_pd(x + r * in + k + 4), w1, acc[r][1]);
    }
  }
  for (int r = 0; r < R; ++r) {
    alignas(32) double lane[8];
    _mm256_store_pd(lane, acc[r][0]);
    _mm256_store_pd(lane + 4, acc[r][1]);
    for (int64_t t = k, l = 0; t < in; ++t, ++l) lane[l] = std::fma(x[r * in + t], static_cast<double>(w[t]), lane[l]);
    out[r] = reduce8(lane);
  }
}

constexpr int kRows = 4;

template <typename Acc, typename X>
void rowwise(const X* x, int64_t m, const float* w, const float* bias, int64_t in, int64_t out, float* y, bool add) {
  // Columns outermost: row j of W is read from memory once and meets every x_i from cache.
#pragma omp parallel for schedule(static) if (out * in > 65536)
  for (int64_t j = 0; j < out; ++j) {
    const float* wj = w + j * in;
    Acc d[kRows];
    for (int64_t i = 0; i < m; i += kRows) {
      const int n = static_cast<int>(std::min<int64_t>(kRows, m - i));
      for (int r = 0; r < n; r += (n - r >= kRows ? kRows : 1)) {
        if constexpr (sizeof(Acc) == sizeof(float)) {
          if (n - r >= kRows) dots_f32<kRows>(x + (i + r) * in, in, wj, d + r);
          else dots_f32<1>(x + (i + r) * in, in, wj, d + r);
        } else {
          if (n - r >= kRows) dots_f64<kRows>(x + (i + r) * in, in, wj, d + r);
          else dots_f64<1>(x + (i + r) * in, in, wj, d + r);
        }
      }
      for (int r = 0; r < n; ++r) {
        Acc v = d[r];
        if (bias) v += static_cast<Acc>(bias[j]);
        float& dst = y[(i + r) * out + j];
        dst = static_cast<float>(add ? static_cast<Acc>(dst) + v : v);
      }
    }
  }
}

}  // namespace

void rowwise_linear(const float* x, int64_t m, const float* w, const float* bias, int64_t in, int64_t out, float* y,
                    bool add) {
  rowwise<float>(x, m, w, bias, in, out, y, add);
}

void rowwise_linear_f64(const float* x, int64_t m, const float* w, const float* bias, int64_t in, int64_t out,
                        float* y, bool add) {
  const std::vector<double> xd(x, x + m * in);  // widened once, not once per column
  rowwise<double>(xd.data(), m, w, bias, in, out, y, add);
}

}  // namespace s0::ops
