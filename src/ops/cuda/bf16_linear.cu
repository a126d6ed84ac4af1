// Linear layers with bf16 weights (the speed mode): the float32 input rows are rounded to bf16
// (nearest even, as PyTorch's .to(torch.bfloat16)) into a scratch buffer, and one cuBLASLt GEMM on
// the tensor cores multiplies them by the bf16 weight with float32 accumulation into the float32
// output. The same for the gradient to the input.
//
// The precise projections (the recurrent mixers' inputs, whose read-out the gated norm amplifies)
// split each input into two bf16 terms, hi = bf16(x) and lo = bf16(x - hi), and add the two
// products: the input then carries about 16 significant bits instead of 8, for twice the GEMM
// work on a minority of the layers. Their backward rounds dy to one term, as every other layer's
// (ops/linear.h says why). The weights stay what the checkpoint stores. A few rows (a
// decode step) are bound by reading the weight: up to kGemvMaxRows the float32 rows are multiplied
// as they are by a kernel of ours (bf16_gemv.cuh); up to kStackedRows the hi and lo rows go through
// one GEMM as one stack of 2 x rows and a last pass adds the halves (the weight read once, not
// twice).
#include <cuda_bf16.h>

#include "core/tensor.h"
#include "ops/cuda/bf16_gemv.cuh"
#include "ops/cuda/cells.cuh"
#include "ops/cuda/dtype_cast.h"
#include "ops/cuda/linear.h"

namespace s0::ops::cuda {

namespace {

// Scratch of `shape` on the current GPU.
Tensor scratch_on_gpu(const Shape& shape, DType dtype) {
  int device = 0;
  S0_CUDA_CHECK(cudaGetDevice(&device));
  return Tensor::empty(shape, dtype, Device::cuda(device));
}

Tensor bf16s(int64_t n) { return scratch_on_gpu({n}, DType::BF16); }

Tensor rounded_to_bf16(const float* src, int64_t n) {
  Tensor out = bf16s(n);
  round_to_bf16(src, n, out.device_raw_mut());
  return out;
}

// hi = bf16(x) and lo = bf16(x - hi), side by side: [hi (n) | lo (n)].
Tensor split_to_bf16(const float* src, int64_t n) {
  Tensor out = bf16s(2 * n);
  auto* hi = static_cast<__nv_bfloat16*>(out.device_raw_mut());
  auto* lo = hi + n;
  for_each_float(
      src, n,
      [=] __device__(int64_t i, float v) {
        const __nv_bfloat16 h = __float2bfloat16_rn(v);
        hi[i] = h;
        lo[i] = __float2bfloat16_rn(v - __bfloat162float(h));
      },
      "split_to_bf16");
  return out;
}

// The bf16 operand(s) standing for n floats: one rounding, or the hi/lo pair when `split`.
Tensor bf16_operand(const float* src, int64_t n, bool split) {
  return split ? split_to_bf16(src, n) : rounded_to_bf16(src, n);
}

}  // namespace

bool bf16_rounds_input(int64_t rows, int64_t in) { return !gemv_fits(rows, in); }

// Rows up to which a split product is one stacked GEMM (the weight-bound regime of decode steps).
constexpr int64_t kStackedRows = 64;

void bf16_linear_forward(const float* x, int64_t rows, const void* w, const float* bias, int64_t in, int64_t out,
                         Output y_out, bool add, bool split) {
  if (rows == 0) return;
  if (y_out.bf16) {
    if (split || gemv_fits(rows, in)) fail("internal: a bf16 output for a product that does not round its input");
    const Tensor x16 = rounded_to_bf16(x, rows * in);
    return gemm_forward(x16.device_raw(), rows, w, bias, in, out, y_out.data, add, Operands::bf16_out);
  }
  auto* y = static_cast<float*>(y_out.data);
  // A few rows: the unrounded input times W, which a split (precise) product only approximates.
  if (gemv_fits(rows, in)) return bf16_gemv(x, rows, w, bias, in, out, y, add);
  const Tensor x16 = bf16_operand(x, rows * in, split);
  const auto* xs = static_cast<const __nv_bfloat16*>(x16.device_raw());
  if (split && rows <= kStackedRows) {
    Tensor halves = scratch_on_gpu({2 * rows, out}, DType::F32);
    const float* hl = static_cast<const float*>(halves.device_raw());
    gemm_forward(xs, 2 * rows, w, nullptr, in, out, halves.device_raw_mut(), false, Operands::bf16);
    const int64_t lo = rows * out;
    for_each_cell(
        rows, out,
        [=] __device__(int64_t r, int64_t c) {
          const int64_t i = r * out + c;
          const float v = (hl[i] + hl[lo + i]) + (bias ? bias[c] : 0.0f);
          y[i] = add ? y[i] + v : v;
        },
        "bf16_linear_add_halves");
    return;
  }
  gemm_forward(xs, rows, w, bias, in, out, y, add, Operands::bf16);
  if (split) gemm_forward(xs + rows * in, rows, w, nullptr, in, out, y, true, Operands::bf16);
}

void bf16_linear_backward(const float* dy, int64_t rows, const void* w, int64_t in, int64_t out, Output dx,
                          bool accumulate) {
  if (rows == 0) return;
  const Tensor dy16 = rounded_to_bf16(dy, rows * out);
  gemm_backward(dy16.device_raw(), rows, w, in, out, dx.data, accumulate,
                dx.bf16 ? Operands::bf16_out : Operands::bf16);
}

}  // namespace s0::ops::cuda
