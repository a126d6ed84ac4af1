#pragma once
// Writing a float32 result into an Output (ops/cuda/output.h): kernels are templates over the
// element type, and with_output picks the instance. Device code: included by .cu files only.
#include <cuda_bf16.h>

#include "ops/cuda/output.h"

namespace s0::ops::cuda {

__device__ inline void store(float* p, float v) { *p = v; }
// Nearest even, as the bf16 GEMMs round their float32 inputs (ops/cuda/bf16_linear.cu).
__device__ inline void store(__nv_bfloat16* p, float v) { *p = __float2bfloat16_rn(v); }

// f(pointer) with out's storage as float* or __nv_bfloat16*.
template <typename F>
void with_output(const Output& out, F&& f) {
  if (out.bf16) return f(static_cast<__nv_bfloat16*>(out.data));
  f(static_cast<float*>(out.data));
}

}  // namespace s0::ops::cuda
