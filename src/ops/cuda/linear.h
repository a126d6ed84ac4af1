#pragma once
// Linear layers on the GPU through cuBLASLt: float32 inputs, float32 accumulation with TF32 off
// (CUBLAS_COMPUTE_32F), the exactness mode that checks against the CPU. One GEMM covers every row of
// the packed batch: the CPU's one call per sequence exists for bit-exact batch invariance, which the
// GPU does not promise (a row's result may depend on the GEMM's shape, not on run-to-run noise).
// The CPU's "precise" double-accumulated variant maps to this same float32 GEMM; the tests measure
// its error against the CPU's double path.
#include <cstdint>

namespace s0::ops::cuda {

// y[rows, out] (+)= x[rows, in] W^T + bias (bias null: none), W[out, in].
void linear_forward(const float* x, int64_t rows, const float* w, const float* bias, int64_t in, int64_t out, float* y,
                    bool add);
// dx[rows, in] (+)= dy[rows, out] W.
void linear_backward(const float* dy, int64_t rows, const float* w, int64_t in, int64_t out, float* dx,
                     bool accumulate);

}  // namespace s0::ops::cuda
