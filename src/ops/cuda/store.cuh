#pragma once
// Writing a float32 result into an Output and reading an Input as float32 (ops/cuda/output.h):
// kernels are templates over the element types, and with_output / with_input pick the instance.
// Device code: included by .cu files only.
#include <cuda_bf16.h>

#include "ops/cuda/output.h"

namespace s0::ops::cuda {

__device__ inline void store(float* p, float v) { *p = v; }
// Nearest even, as the bf16 GEMMs round their float32 inputs (ops/cuda/bf16_linear.cu).
__device__ inline void store(__nv_bfloat16* p, float v) { *p = __float2bfloat16_rn(v); }

// Four results at p as one store (16-byte aligned floats, 8-byte aligned bf16), each rounded as
// store rounds it.
__device__ inline void store4(float* p, float4 v) { *reinterpret_cast<float4*>(p) = v; }
__device__ inline void store4(__nv_bfloat16* p, float4 v) {
  const __nv_bfloat162 lo = __floats2bfloat162_rn(v.x, v.y), hi = __floats2bfloat162_rn(v.z, v.w);
  *reinterpret_cast<uint2*>(p) = {*reinterpret_cast<const uint32_t*>(&lo), *reinterpret_cast<const uint32_t*>(&hi)};
}

// f(pointer) with out's storage as float* or __nv_bfloat16*.
template <typename F>
void with_output(const Output& out, F&& f) {
  if (out.bf16) return f(static_cast<__nv_bfloat16*>(out.data));
  f(static_cast<float*>(out.data));
}

// Reading an Input's element as float32, one or four at a time (four bf16 from an 8-byte aligned
// pointer; cells.cuh's load4 takes four floats).
__device__ inline float load(const float* p) { return *p; }
__device__ inline float load(const __nv_bfloat16* p) { return __bfloat162float(*p); }
__device__ inline float4 load4(const __nv_bfloat16* p) {
  const uint2 v = *reinterpret_cast<const uint2*>(p);
  const float2 a = __bfloat1622float2(*reinterpret_cast<const __nv_bfloat162*>(&v.x));
  const float2 b = __bfloat1622float2(*reinterpret_cast<const __nv_bfloat162*>(&v.y));
  return {a.x, a.y, b.x, b.y};
}

// f(pointer) with in's storage as const float* or const __nv_bfloat16*.
template <typename F>
void with_input(const Input& in, F&& f) {
  if (in.bf16) return f(static_cast<const __nv_bfloat16*>(in.data));
  f(static_cast<const float*>(in.data));
}

}  // namespace s0::ops::cuda
