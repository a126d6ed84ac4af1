#include "ops/cuda/bf16_gemv.cuh"

#include <cuda_bf16.h>

#include <algorithm>

#include "ops/cuda/check.h"
#include "ops/cuda/stream.h"

namespace s0::ops::cuda {

namespace {

constexpr int kWarps = 4;    // per block (few, so that narrow outputs still spread over the SMs)
constexpr int kOutputs = 4;  // rows of W per warp at once

__device__ inline float warp_total(float v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

// The 8 bf16 elements packed in 16 bytes, as floats.
__device__ inline void widen8(const uint4& packed, float* out) {
  const auto* pairs = reinterpret_cast<const __nv_bfloat162*>(&packed);
#pragma unroll
  for (int p = 0; p < 4; ++p) {
    const float2 f = __bfloat1622float2(pairs[p]);
    out[2 * p] = f.x;
    out[2 * p + 1] = f.y;
  }
}

// Warp w of block b takes outputs [o0, o0 + kOutputs), o0 = (b * kWarps + w) * kOutputs, then every
// gridDim.x * kWarps * kOutputs further. Lane l reads the elements [8 c, 8 c + 8) of those rows for
// c = l, l + 32, ...
__global__ void __launch_bounds__(kWarps * 32)
    gemv_kernel(const float* __restrict__ x, int rows, const __nv_bfloat16* __restrict__ w,
                const float* __restrict__ bias, int64_t in, int64_t out, float* y, bool add) {
  const int lane = threadIdx.x % 32;
  const int64_t chunks = in / 8, stride = static_cast<int64_t>(gridDim.x) * kWarps * kOutputs;
  for (int64_t o0 = (static_cast<int64_t>(blockIdx.x) * kWarps + threadIdx.x / 32) * kOutputs; o0 < out;
       o0 += stride) {
    float acc[kOutputs][kGemvMaxRows] = {};
    for (int64_t c = lane; c < chunks; c += 32) {
      float wv[kOutputs][8];
#pragma unroll
      for (int j = 0; j < kOutputs; ++j) {
        const uint4 packed = o0 + j < out ? __ldg(reinterpret_cast<const uint4*>(w + (o0 + j) * in) + c) : uint4{};
        widen8(packed, wv[j]);
      }
#pragma unroll
      for (int r = 0; r < kGemvMaxRows; ++r) {
        if (r >= rows) break;
        const float4* xr = reinterpret_cast<const float4*>(x + r * in) + 2 * c;
        const float4 a = __ldg(xr), b = __ldg(xr + 1);
#pragma unroll
        for (int j = 0; j < kOutputs; ++j)
          acc[j][r] += wv[j][0] * a.x + wv[j][1] * a.y + wv[j][2] * a.z + wv[j][3] * a.w + wv[j][4] * b.x +
                       wv[j][5] * b.y + wv[j][6] * b.z + wv[j][7] * b.w;
      }
    }
#pragma unroll
    for (int j = 0; j < kOutputs; ++j)
#pragma unroll
      for (int r = 0; r < kGemvMaxRows; ++r) {
        if (r >= rows) break;
        const float total = warp_total(acc[j][r]);
        const int64_t o = o0 + j;
        if (lane == 0 && o < out) {
          const float v = total + (bias ? bias[o] : 0.0f);
          y[r * out + o] = add ? y[r * out + o] + v : v;
        }
      }
  }
}

}  // namespace

void bf16_gemv(const float* x, int64_t rows, const void* w, const float* bias, int64_t in, int64_t out, float* y,
               bool add) {
  if (rows == 0 || out == 0) return;
  const int64_t per_block = kWarps * kOutputs;
  const int64_t blocks = std::min<int64_t>((out + per_block - 1) / per_block, 65535);
  gemv_kernel<<<static_cast<unsigned>(blocks), kWarps * 32, 0, stream()>>>(
      x, static_cast<int>(rows), static_cast<const __nv_bfloat16*>(w), bias, in, out, y, add);
  check_launch("gemv_kernel");
}

}  // namespace s0::ops::cuda
