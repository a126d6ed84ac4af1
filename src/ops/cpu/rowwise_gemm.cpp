#include "ops/cpu/rowwise_gemm.h"

#include "ops/cpu/rowwise_tiles.h"

#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <vector>

namespace s0::ops::cpu {

namespace {

// Every y[i, j] is summed the same way: one vector of lanes (8 floats, or 4 doubles), lane l
// accumulating the products at k = l mod lanes by fused multiply-add in increasing k, then a fixed
// pairwise reduction of the lanes. Tiles of R rows x C columns only share loads (each W load meets
// R rows, each x load C columns); every (i, j) does the same arithmetic in every tile shape, so a
// result never depends on the call's other rows.

template <typename T>
struct Simd;

template <>
struct Simd<float> {
  using V = __m256;
  static constexpr int lanes = 8;
  static V zero() { return _mm256_setzero_ps(); }
  static V load_x(const float* p) { return _mm256_loadu_ps(p); }
  static V load_w(const float* p) { return _mm256_loadu_ps(p); }
  static V fma(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
  static void store(float* p, V v) { _mm256_storeu_ps(p, v); }
};

template <>
struct Simd<double> {
  using V = __m256d;
  static constexpr int lanes = 4;
  static V zero() { return _mm256_setzero_pd(); }
  static V load_x(const double* p) { return _mm256_loadu_pd(p); }
  static V load_w(const float* p) { return _mm256_cvtps_pd(_mm_loadu_ps(p)); }  // exact widening
  static V fma(V a, V b, V c) { return _mm256_fmadd_pd(a, b, c); }
  static void store(double* p, V v) { _mm256_storeu_pd(p, v); }
};

// out[r * C + c] = dot(x row r, w row c) for an R x C tile; x rows and w rows have stride `in`.
template <typename T, int R, int C>
void tile(const T* x, const float* w, int64_t in, T* out) {
  using S = Simd<T>;
  constexpr int L = S::lanes;
  typename S::V acc[R][C];
  for (int r = 0; r < R; ++r)
    for (int c = 0; c < C; ++c) acc[r][c] = S::zero();
  int64_t k = 0;
  for (; k + L <= in; k += L) {
    typename S::V wv[C];
    for (int c = 0; c < C; ++c) wv[c] = S::load_w(w + c * in + k);
    for (int r = 0; r < R; ++r) {
      const typename S::V xv = S::load_x(x + r * in + k);
      for (int c = 0; c < C; ++c) acc[r][c] = S::fma(xv, wv[c], acc[r][c]);
    }
  }
  for (int r = 0; r < R; ++r)
    for (int c = 0; c < C; ++c) {
      T lane[L];
      S::store(lane, acc[r][c]);
      for (int64_t t = k, l = 0; t < in; ++t, ++l)
        lane[l] = std::fma(x[r * in + t], static_cast<T>(w[c * in + t]), lane[l]);
      for (int width = L / 2; width > 0; width /= 2)
        for (int l = 0; l < width; ++l) lane[l] += lane[l + width];
      out[r * C + c] = lane[0];
    }
}

constexpr int kRows = 4, kCols = 3;

// The tile for the rows and columns left at an edge: full tiles where they fit, else single ones.
template <typename T>
void edge_tile(const T* x, const float* w, int64_t in, int rows, int cols, T* out) {
  for (int r = 0; r < rows; ++r)
    for (int c = 0; c < cols; ++c) tile<T, 1, 1>(x + r * in, w + c * in, in, out + r * kCols + c);
}

template <typename T>
void rowwise(const T* x, int64_t m, const float* w, const float* bias, int64_t in, int64_t out, float* y, bool add) {
  auto tiles = [&](int, int64_t i0, int rows, int64_t j0, int cols, T* d) {
    if (rows == kRows && cols == kCols) tile<T, kRows, kCols>(x + i0 * in, w + j0 * in, in, d);
    else if (cols == kCols) {
      for (int r = 0; r < rows; ++r) tile<T, 1, kCols>(x + (i0 + r) * in, w + j0 * in, in, d + r * kCols);
    } else edge_tile<T>(x + i0 * in, w + j0 * in, in, rows, cols, d);
  };
  rowwise_tiles<T, kRows, kCols>(m, in, out, bias, y, add, /*parts=*/1, tiles);
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

}  // namespace s0::ops::cpu
