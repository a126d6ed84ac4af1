#pragma once
// Small dense matrix products for the chunked recurrences. They run inside OpenMP regions that
// are already parallel over heads, where calling cblas would oversubscribe (OpenBLAS keeps its own
// threads), so they are single-threaded AVX2 kernels: a register-blocked 6x16 micro-kernel for
// A B and A^T B (12 accumulators), 2x4 blocks of dot products for A B^T, and plain loops for the
// edges. Products with a triangular factor skip its zero half.
// All matrices are row-major float with explicit leading dimensions.
#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <type_traits>

namespace s0::ops::cpu::small {

namespace detail {

inline constexpr int64_t kRows = 6;   // rows of C per micro-kernel call
inline constexpr int64_t kCols = 16;  // columns of C per call: two 8-wide vectors

// GCC/Clang vector extension: 8 floats, loaded and stored unaligned. Writing the kernel with it
// (rather than hoping the auto-vectoriser keeps a 6x16 accumulator block in registers, which it
// does for some stride patterns and not others) gives the same code for every caller.
using f32x8 = float __attribute__((vector_size(32), aligned(4)));

// C[Rows, 16] += alpha * sum_k A(r,k) B[k, 0:16], where A(r,k) = a[r*a_row + k*a_col].
template <int Rows>
inline void block(int64_t K, float alpha, const float* __restrict a, int64_t a_row, int64_t a_col,
                  const float* __restrict b, int64_t ldb, float* __restrict c, int64_t ldc) {
  f32x8 acc[Rows][2] = {};
  for (int64_t k = 0; k < K; ++k) {
    const f32x8 b0 = *reinterpret_cast<const f32x8*>(b + k * ldb);
    const f32x8 b1 = *reinterpret_cast<const f32x8*>(b + k * ldb + 8);
    for (int r = 0; r < Rows; ++r) {
      const float av = a[r * a_row + k * a_col];
      acc[r][0] += av * b0;
      acc[r][1] += av * b1;
    }
  }
  for (int r = 0; r < Rows; ++r) {
    *reinterpret_cast<f32x8*>(c + r * ldc) += alpha * acc[r][0];
    *reinterpret_cast<f32x8*>(c + r * ldc + 8) += alpha * acc[r][1];
  }
}

// Which A(i,k) may be non-zero: all, or only k <= i (lower), or only k >= i (upper). Row blocks
// then skip the products with the zero part.
enum class Band { full, lower, upper };

// C[M,N] += alpha * sum_k A(i,k) B[k,:], where A(i,k) = a[i*a_row + k*a_col]; the strides let one
// kernel serve both A (a_row = lda, a_col = 1) and A^T (a_row = 1, a_col = lda).
inline void product_acc(int64_t M, int64_t N, int64_t K, float alpha, const float* __restrict a, int64_t a_row,
                        int64_t a_col, const float* __restrict b, int64_t ldb, float* __restrict c, int64_t ldc,
                        Band band) {
  const int64_t N_full = N - N % kCols;
  // Calls block<Rows> for rows [i0, i0 + Rows), over the k that the band leaves non-zero.
  auto rows_at = [&](auto rows, int64_t i0, int64_t j0) {
    constexpr int Rows = decltype(rows)::value;
    const int64_t k0 = band == Band::upper ? i0 : 0;
    const int64_t k1 = band == Band::lower ? std::min(K, i0 + Rows) : K;
    block<Rows>(k1 - k0, alpha, a + i0 * a_row + k0 * a_col, a_row, a_col, b + k0 * ldb + j0, ldb,
                c + i0 * ldc + j0, ldc);
  };
  for (int64_t j0 = 0; j0 < N_full; j0 += kCols) {
    int64_t i0 = 0;
    for (; i0 + kRows <= M; i0 += kRows) rows_at(std::integral_constant<int, kRows>{}, i0, j0);
    switch (M - i0) {
      case 5: rows_at(std::integral_constant<int, 5>{}, i0, j0); break;
      case 4: rows_at(std::integral_constant<int, 4>{}, i0, j0); break;
      case 3: rows_at(std::integral_constant<int, 3>{}, i0, j0); break;
      case 2: rows_at(std::integral_constant<int, 2>{}, i0, j0); break;
      case 1: rows_at(std::integral_constant<int, 1>{}, i0, j0); break;
      default: break;
    }
  }
  // The columns right of the last full 16-wide strip (only ragged shapes have them); the zero part
  // of a band adds zeros here.
  if (N_full < N)
    for (int64_t i = 0; i < M; ++i)
      for (int64_t k = 0; k < K; ++k) {
        const float av = alpha * a[i * a_row + k * a_col];
        for (int64_t j = N_full; j < N; ++j) c[i * ldc + j] += av * b[k * ldb + j];
      }
}

// The 8 sums of the lanes of v[0..7], as one vector (lane r = sum of v[r]): a tree of horizontal
// adds, 9 instructions where summing each vector on its own takes 8 x 7 scalar adds.
inline f32x8 sum_lanes8(const f32x8 v[8]) {
  const __m256 t0 = _mm256_hadd_ps(__m256(v[0]), __m256(v[1])), t1 = _mm256_hadd_ps(__m256(v[2]), __m256(v[3]));
  const __m256 t2 = _mm256_hadd_ps(__m256(v[4]), __m256(v[5])), t3 = _mm256_hadd_ps(__m256(v[6]), __m256(v[7]));
  const __m256 u0 = _mm256_hadd_ps(t0, t1), u1 = _mm256_hadd_ps(t2, t3);
  return f32x8(_mm256_add_ps(_mm256_permute2f128_ps(u0, u1, 0x20), _mm256_permute2f128_ps(u0, u1, 0x31)));
}

// C[Rows, Cols] += alpha * A[Rows, K] B[Cols, K]^T: dot products over the contiguous K, so that
// neither operand needs transposing; 8 accumulators plus 6 loaded vectors fit the 16 registers.
template <int Rows, int Cols>
inline void dot_block(int64_t K, float alpha, const float* __restrict a, int64_t lda, const float* __restrict b,
                      int64_t ldb, float* __restrict c, int64_t ldc) {
  f32x8 acc[Rows * Cols] = {};
  int64_t k = 0;
  for (; k + 8 <= K; k += 8) {
    f32x8 av[Rows], bv[Cols];
    for (int r = 0; r < Rows; ++r) av[r] = *reinterpret_cast<const f32x8*>(a + r * lda + k);
    for (int j = 0; j < Cols; ++j) bv[j] = *reinterpret_cast<const f32x8*>(b + j * ldb + k);
    for (int r = 0; r < Rows; ++r)
      for (int j = 0; j < Cols; ++j) acc[r * Cols + j] += av[r] * bv[j];
  }
  float sums[Rows * Cols];
  if constexpr (Rows * Cols == 8) {
    const f32x8 all = sum_lanes8(acc);
    for (int e = 0; e < 8; ++e) sums[e] = all[e];
  } else {
    for (int e = 0; e < Rows * Cols; ++e) {
      sums[e] = 0.0f;
      for (int l = 0; l < 8; ++l) sums[e] += acc[e][l];
    }
  }
  for (int r = 0; r < Rows; ++r)
    for (int j = 0; j < Cols; ++j) {
      float sum = sums[r * Cols + j];
      for (int64_t kk = k; kk < K; ++kk) sum += a[r * lda + kk] * b[j * ldb + kk];
      c[r * ldc + j] += alpha * sum;
    }
}

}  // namespace detail

// C[M,N] += alpha * A[M,K] B[K,N]. a_lower: A is square and lower triangular (zeros above).
inline void gemm_nn(int64_t M, int64_t N, int64_t K, float alpha, const float* a, int64_t lda, const float* b,
                    int64_t ldb, float* c, int64_t ldc, bool a_lower = false) {
  detail::product_acc(M, N, K, alpha, a, lda, 1, b, ldb, c, ldc, a_lower ? detail::Band::lower : detail::Band::full);
}

// C[M,N] += alpha * A^T B, with A stored [K,M] and B [K,N]. a_lower: the stored A is square and
// lower triangular.
inline void gemm_tn(int64_t M, int64_t N, int64_t K, float alpha, const float* a, int64_t lda, const float* b,
                    int64_t ldb, float* c, int64_t ldc, bool a_lower = false) {
  detail::product_acc(M, N, K, alpha, a, 1, lda, b, ldb, c, ldc, a_lower ? detail::Band::upper : detail::Band::full);
}

// C[M,N] += alpha * A B^T, with A stored [M,K] and B [N,K]. c_lower: only C(i, j <= i) is wanted;
// blocks wholly above the diagonal are skipped, so C above it is left partly written.
inline void gemm_nt(int64_t M, int64_t N, int64_t K, float alpha, const float* a, int64_t lda, const float* b,
                    int64_t ldb, float* c, int64_t ldc, bool c_lower = false) {
  constexpr int64_t kDotRows = 2, kDotCols = 4;
  const int64_t M_full = M - M % kDotRows;
  for (int64_t i = 0; i < M_full; i += kDotRows) {
    const int64_t n_cols = c_lower ? std::min(N, i + kDotRows) : N;
    const int64_t n_full = n_cols - n_cols % kDotCols;
    for (int64_t j = 0; j < n_full; j += kDotCols)
      detail::dot_block<kDotRows, kDotCols>(K, alpha, a + i * lda, lda, b + j * ldb, ldb, c + i * ldc + j, ldc);
    for (int64_t j = n_full; j < n_cols; ++j)
      detail::dot_block<kDotRows, 1>(K, alpha, a + i * lda, lda, b + j * ldb, ldb, c + i * ldc + j, ldc);
  }
  for (int64_t i = M_full; i < M; ++i)
    for (int64_t j = 0; j < (c_lower ? std::min(N, i + 1) : N); ++j)
      detail::dot_block<1, 1>(K, alpha, a + i * lda, lda, b + j * ldb, ldb, c + i * ldc + j, ldc);
}

inline float dot(int64_t n, const float* __restrict x, const float* __restrict y) {
  float acc = 0.0f;
#pragma omp simd reduction(+ : acc)
  for (int64_t e = 0; e < n; ++e) acc += x[e] * y[e];
  return acc;
}

// Copies rows of `width` floats between a strided layout (leading dimension ld) and a packed one.
inline void gather_rows(int64_t rows, int64_t width, const float* src, int64_t ld, float* dst) {
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t e = 0; e < width; ++e) dst[i * width + e] = src[i * ld + e];
}
inline void scatter_rows(int64_t rows, int64_t width, const float* src, float* dst, int64_t ld) {
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t e = 0; e < width; ++e) dst[i * ld + e] = src[i * width + e];
}

inline void zero_rows(int64_t rows, int64_t width, float* x, int64_t ld) {
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t e = 0; e < width; ++e) x[i * ld + e] = 0.0f;
}

}  // namespace s0::ops::cpu::small
