#pragma once
// Dense matrix products on row-major float32 buffers, through OpenBLAS.
#include <cstdint>

namespace s0::ops::cpu {

// C[m, n] = alpha * op(A) op(B) + beta * C, row-major; op(A) is [m, k], op(B) is [k, n].
void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
          const float* b, int64_t ldb, float beta, float* c, int64_t ldc);

// A linear layer y[n, out] = x[n, in] W[out, in]^T (+ bias[out]), the PyTorch nn.Linear layout.
void linear_forward(const float* x, int64_t n, const float* w, const float* bias, int64_t in, int64_t out, float* y);
// y[n, out] += x[n, in] W[out, in]^T (+ bias[out]): a layer whose output adds to a residual stream.
void linear_forward_add(const float* x, int64_t n, const float* w, const float* bias, int64_t in, int64_t out,
                        float* y);
// dx[n, in] = dy[n, out] W[out, in], added to dx when `accumulate`. No weight gradient: weights are frozen.
void linear_backward(const float* dy, int64_t n, const float* w, int64_t in, int64_t out, float* dx, bool accumulate);

// The same products with double accumulation: x is widened, W is widened a block of rows at a time
// (so no double copy of the weights is kept), the result is rounded to float once (and added to y
// when `add`). For projections whose outputs feed a cancellation-prone computation (see
// Linear::precise).
void linear_forward_f64(const float* x, int64_t n, const float* w, const float* bias, int64_t in, int64_t out,
                        float* y, bool add);
// dx[n, in] (+)= dy[n, out] W[out, in] with double accumulation.
void linear_backward_f64(const float* dy, int64_t n, const float* w, int64_t in, int64_t out, float* dx,
                         bool accumulate);

}  // namespace s0::ops::cpu
