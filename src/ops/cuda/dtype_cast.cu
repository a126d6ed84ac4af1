#include "ops/cuda/dtype_cast.h"

#include <cuda_bf16.h>

#include "ops/cuda/cells.cuh"

namespace s0::ops::cuda {

void round_to_bf16(const float* src, int64_t n, void* dst) {
  auto* out = static_cast<__nv_bfloat16*>(dst);
  for_each_float(src, n, [=] __device__(int64_t i, float v) { out[i] = __float2bfloat16_rn(v); }, "round_to_bf16");
}

void widen_bf16(const void* src, int64_t n, float* dst) {
  const auto* in = static_cast<const __nv_bfloat16*>(src);
  for_each_cell(1, n, [=] __device__(int64_t, int64_t i) { dst[i] = __bfloat162float(in[i]); }, "widen_bf16");
}

}  // namespace s0::ops::cuda
