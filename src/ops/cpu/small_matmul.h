#pragma once
// Small dense matrix products for the chunked recurrences. They run inside OpenMP regions that
// are already parallel over heads, where calling cblas would oversubscribe (OpenBLAS keeps its own
// threads), so they are single-threaded loops written for g++ -O3 to vectorise: a register-blocked
// 6x16 micro-kernel (12 AVX2 accumulators) and plain remainder loops for the edges.
// All matrices are row-major float with explicit leading dimensions.
#include <cstdint>

namespace s0::ops::small {

namespace detail {

inline constexpr int64_t kRows = 6;   // rows of C per micro-kernel call
inline constexpr int64_t kCols = 16;  // columns of C per call: two 8-wide vectors

// C[M,N] += alpha * sum_k A(i,k) B[k,:], where A(i,k) = a[i*a_row + k*a_col]; the strides let one
// kernel serve both A (a_row = lda, a_col = 1) and A^T (a_row = 1, a_col = lda).
inline void product_acc(int64_t M, int64_t N, int64_t K, float alpha, const float* __restrict a, int64_t a_row,
                        int64_t a_col, const float* __restrict b, int64_t ldb, float* __restrict c, int64_t ldc) {
  const int64_t M_full = M - M % kRows, N_full = N - N % kCols;
  for (int64_t i0 = 0; i0 < M_full; i0 += kRows) {
    for (int64_t j0 = 0; j0 < N_full; j0 += kCols) {
      float acc[kRows][kCols] = {};
      for (int64_t k = 0; k < K; ++k) {
        const float* brow = b + k * ldb + j0;
        for (int64_t r = 0; r < kRows; ++r) {
          const float av = a[(i0 + r) * a_row + k * a_col];
          for (int64_t j = 0; j < kCols; ++j) acc[r][j] += av * brow[j];
        }
      }
      for (int64_t r = 0; r < kRows; ++r)
        for (int64_t j = 0; j < kCols; ++j) c[(i0 + r) * ldc + j0 + j] += alpha * acc[r][j];
    }
  }
  // Edges: the rows below the last full block (all columns), then the right strip of the full rows.
  for (int64_t i = M_full; i < M; ++i)
    for (int64_t k = 0; k < K; ++k) {
      const float av = alpha * a[i * a_row + k * a_col];
      for (int64_t j = 0; j < N; ++j) c[i * ldc + j] += av * b[k * ldb + j];
    }
  if (N_full < N)
    for (int64_t i = 0; i < M_full; ++i)
      for (int64_t k = 0; k < K; ++k) {
        const float av = alpha * a[i * a_row + k * a_col];
        for (int64_t j = N_full; j < N; ++j) c[i * ldc + j] += av * b[k * ldb + j];
      }
}

}  // namespace detail

// C[M,N] += alpha * A[M,K] B[K,N]
inline void gemm_nn(int64_t M, int64_t N, int64_t K, float alpha, const float* a, int64_t lda, const float* b,
                    int64_t ldb, float* c, int64_t ldc) {
  detail::product_acc(M, N, K, alpha, a, lda, 1, b, ldb, c, ldc);
}

// C[M,N] += alpha * A^T B, with A stored [K,M] and B [K,N]
inline void gemm_tn(int64_t M, int64_t N, int64_t K, float alpha, const float* a, int64_t lda, const float* b,
                    int64_t ldb, float* c, int64_t ldc) {
  detail::product_acc(M, N, K, alpha, a, 1, lda, b, ldb, c, ldc);
}

// C[M,N] += alpha * A B^T, with A stored [M,K] and B [N,K]. B is first transposed into `scratch`
// (K*N floats) so that the kernel streams contiguous rows.
inline void gemm_nt(int64_t M, int64_t N, int64_t K, float alpha, const float* a, int64_t lda, const float* b,
                    int64_t ldb, float* c, int64_t ldc, float* scratch) {
  for (int64_t j = 0; j < N; ++j)
    for (int64_t k = 0; k < K; ++k) scratch[k * N + j] = b[j * ldb + k];
  detail::product_acc(M, N, K, alpha, a, lda, 1, scratch, N, c, ldc);
}

inline float dot(int64_t n, const float* __restrict x, const float* __restrict y) {
  float acc = 0.0f;
#pragma omp simd reduction(+ : acc)
  for (int64_t e = 0; e < n; ++e) acc += x[e] * y[e];
  return acc;
}

inline void zero_rows(int64_t rows, int64_t width, float* x, int64_t ld) {
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t e = 0; e < width; ++e) x[i * ld + e] = 0.0f;
}

}  // namespace s0::ops::small
