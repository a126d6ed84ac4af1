#pragma once
// Linear layers on the GPU through cuBLASLt: float32 inputs, float32 accumulation with TF32 off
// (CUBLAS_COMPUTE_32F), the exactness mode that checks against the CPU. One GEMM covers every row of
// the packed batch: the CPU's one call per sequence exists for bit-exact batch invariance, which the
// GPU does not promise (a row's result may depend on the GEMM's shape, not on run-to-run noise).
// The CPU's "precise" variant (the recurrent mixers' input projections, whose read-out the gated
// norm can amplify a thousandfold) is the same product in double: operands widened, a float64
// GEMM (FP64 tensor cores on Hopper, about the rate of the f32 one without TF32), then narrowed as
// the CPU narrows (ops/cuda/precise_linear.cu).
// With bf16 weights (the speed mode) the input rows are rounded to bf16 on the way in and the GEMM
// runs on the tensor cores with float32 accumulation and float32 output (ops/cuda/bf16_linear.cu);
// the precise variant splits each input into two bf16 terms and adds both products. Up to four rows
// (decode steps) a kernel of ours multiplies the float32 rows unrounded instead (bf16_gemv.cuh).
#include <cstdint>

#include "ops/cuda/output.h"

namespace s0::ops::cuda {

// y[rows, out] (+)= x[rows, in] W^T + bias (bias null: none), W[out, in].
void linear_forward(const float* x, int64_t rows, const float* w, const float* bias, int64_t in, int64_t out, float* y,
                    bool add);
// dx[rows, in] (+)= dy[rows, out] W.
void linear_backward(const float* dy, int64_t rows, const float* w, int64_t in, int64_t out, float* dx,
                     bool accumulate);

// The same products in double, rounded once to float at the end as the CPU's precise path does.
void precise_linear_forward(const float* x, int64_t rows, const float* w, const float* bias, int64_t in, int64_t out,
                            float* y, bool add);
void precise_linear_backward(const float* dy, int64_t rows, const float* w, int64_t in, int64_t out, float* dx,
                             bool accumulate);

// y[rows, out] (+)= bf16(x) W^T + bias and dx[rows, in] (+)= bf16(dy) W for W[out, in] in bf16;
// with `split`, x as the sum of its two bf16 terms (a precise projection's forward); the forward of
// up to four rows takes x as it is. y and dx may be bf16 outputs (Operands::bf16_out) where the
// input is rounded to one term and nothing is added to them.
void bf16_linear_forward(const float* x, int64_t rows, const void* w, const float* bias, int64_t in, int64_t out,
                         Output y, bool add, bool split);
void bf16_linear_backward(const float* dy, int64_t rows, const void* w, int64_t in, int64_t out, Output dx,
                          bool accumulate);
// The MLP's fused input projection W = [gate; up] (2 units rows, bf16) and its SwiGLU in one
// kernel for up to four rows (ops/cuda/bf16_gemv.cu): gu[rows, 2 units] = x W^T + bias as
// bf16_linear_forward writes it, and h[rows, units] = silu(gate) * up as swiglu_forward writes it
// (same bits), each block pairing the gate and up rows of its units. bf16_swiglu_fits: whether it
// takes the shape (few rows, units the blocks' pairs tile).
bool bf16_swiglu_fits(int64_t rows, int64_t in, int64_t units);
void bf16_linear_swiglu_forward(const float* x, int64_t rows, const void* w, const float* bias, int64_t in,
                                int64_t units, float* gu, float* h);
// Whether bf16_linear_forward rounds `rows` rows of `in` to bf16 (not the few-row kernel's unrounded
// product).
bool bf16_rounds_input(int64_t rows, int64_t in);

// What the operands of a cuBLASLt product are: float32 (TF32 off), float64, or bf16 inputs with
// float32 accumulation and a float32 output (bias float32); or bf16 inputs with float32
// accumulation whose sums are rounded once to a bf16 output (nearest even; no bias, no
// accumulation into it): an activation whose one reader takes bf16 (ops::linear_output_dtype).
enum class Operands { f32, f64, bf16, bf16_out };

// cuBLASLt products for the paths above.
void gemm_forward(const void* x, int64_t rows, const void* w, const void* bias, int64_t in, int64_t out, void* y,
                  bool add, Operands operands);
void gemm_backward(const void* dy, int64_t rows, const void* w, int64_t in, int64_t out, void* dx, bool accumulate,
                   Operands operands);

}  // namespace s0::ops::cuda
