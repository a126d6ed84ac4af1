#include "ops/cpu/gemm.h"

#include <cblas.h>

#include <algorithm>
#include <vector>

namespace s0::ops::cpu {

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

namespace {
std::vector<double> widen(const float* x, int64_t n) { return std::vector<double>(x, x + n); }

// Rows of W widened per dgemm call: the widening costs out * in, against 2 n out in of arithmetic.
constexpr int64_t kWideRows = 512;

void dgemm_rm(bool trans_b, int64_t m, int64_t n, int64_t k, const double* a, int64_t lda, const double* b,
              int64_t ldb, double beta, double* c, int64_t ldc) {
  cblas_dgemm(CblasRowMajor, CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans, static_cast<blasint>(m),
              static_cast<blasint>(n), static_cast<blasint>(k), 1.0, a, static_cast<blasint>(lda), b,
              static_cast<blasint>(ldb), beta, c, static_cast<blasint>(ldc));
}
}  // namespace

void linear_forward_f64(const float* x, int64_t n, const float* w, const float* bias, int64_t in, int64_t out,
                        float* y, bool add) {
  if (n == 0) return;
  std::vector<double> xd = widen(x, n * in), yd(static_cast<size_t>(n * out));
  for (int64_t j0 = 0; j0 < out; j0 += kWideRows) {
    const int64_t rows = std::min(kWideRows, out - j0);
    const std::vector<double> wd = widen(w + j0 * in, rows * in);
    dgemm_rm(true, n, rows, in, xd.data(), in, wd.data(), in, 0.0, yd.data() + j0, out);
  }
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < out; ++j) {
      const double v = yd[i * out + j] + (bias ? bias[j] : 0.0);
      y[i * out + j] = static_cast<float>(add ? y[i * out + j] + v : v);
    }
}

void linear_backward_f64(const float* dy, int64_t n, const float* w, int64_t in, int64_t out, float* dx,
                         bool accumulate) {
  if (n == 0) return;
  std::vector<double> dyd = widen(dy, n * out), dxd(static_cast<size_t>(n * in), 0.0);
  for (int64_t j0 = 0; j0 < out; j0 += kWideRows) {
    const int64_t rows = std::min(kWideRows, out - j0);
    const std::vector<double> wd = widen(w + j0 * in, rows * in);
    dgemm_rm(false, n, in, rows, dyd.data() + j0, out, wd.data(), in, 1.0, dxd.data(), in);
  }
  for (int64_t i = 0; i < n * in; ++i) dx[i] = static_cast<float>(accumulate ? dx[i] + dxd[i] : dxd[i]);
}

}  // namespace s0::ops::cpu
