#include "ops/cpu/gemm.h"

#include <cblas.h>

namespace s0::ops {

void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
          const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  if (m == 0 || n == 0) return;
  cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans,
              static_cast<blasint>(m), static_cast<blasint>(n), static_cast<blasint>(k), alpha, a,
              static_cast<blasint>(lda), b, static_cast<blasint>(ldb), beta, c, static_cast<blasint>(ldc));
}

void linear_forward(const float* x, int64_t n, const float* w, const float* bias, int64_t in, int64_t out, float* y) {
  if (bias) {
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < out; ++j) y[i * out + j] = bias[j];
  }
  gemm(false, true, n, out, in, 1.0f, x, in, w, in, bias ? 1.0f : 0.0f, y, out);
}

void linear_forward_add(const float* x, int64_t n, const float* w, const float* bias, int64_t in, int64_t out,
                        float* y) {
  if (bias) {
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < out; ++j) y[i * out + j] += bias[j];
  }
  gemm(false, true, n, out, in, 1.0f, x, in, w, in, 1.0f, y, out);
}

void linear_backward(const float* dy, int64_t n, const float* w, int64_t in, int64_t out, float* dx, bool accumulate) {
  gemm(false, false, n, in, out, 1.0f, dy, out, w, in, accumulate ? 1.0f : 0.0f, dx, in);
}

}  // namespace s0::ops
