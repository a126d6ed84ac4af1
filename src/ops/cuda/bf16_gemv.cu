#include "ops/cuda/bf16_gemv.cuh"

#include <cuda_bf16.h>

#include <algorithm>

#include "ops/cuda/dependent_launch.cuh"

namespace s0::ops::cuda {

namespace {

constexpr int kWarps = 4;    // per block
constexpr int kOutputs = 4;  // rows of W per group of warps
// Warps wanted over the whole GPU (about 32 per multiprocessor of an H100 or H200): a narrow W
// (2560 outputs: 640 warps of 4 rows, too few loads in flight to reach the bandwidth) splits its
// rows' length over up to kWarps warps to reach it. A function of W's shape alone, so
// that the summation order, and the bits, do not depend on the batch or the card.
constexpr int64_t kTargetWarps = 4096;

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

// The block's warps form kWarps / split groups; group g takes outputs [o0, o0 + kOutputs),
// o0 = (blockIdx.x * kWarps / split + g) * kOutputs, and its warp k reads the pieces (8 elements
// each) c = 32 (k + split i) + lane of those rows.
__global__ void __launch_bounds__(kWarps * 32)
    gemv_kernel(const float* __restrict__ x, int rows, const __nv_bfloat16* __restrict__ w,
                const float* __restrict__ bias, int64_t in, int64_t out, float* y, bool add, int split) {
  __shared__ float partial[kWarps][kOutputs][kGemvMaxRows];
  allow_dependents();
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  const int groups = kWarps / split, group = warp / split;
  const int64_t o0 = (static_cast<int64_t>(blockIdx.x) * groups + group) * kOutputs, chunks = in / 8;
  const int64_t stride = 32 * static_cast<int64_t>(split);
  float acc[kOutputs][kGemvMaxRows] = {};
  // Launched as a dependent (ops/cuda/dependent_launch.cuh): the first pieces of W, which no kernel
  // writes, are loaded before the wait for the kernel that writes x (and may read y).
  bool waited = false;
  for (int64_t c = (warp % split) * 32 + lane; c < chunks; c += stride) {
    float wv[kOutputs][8];
#pragma unroll
    for (int j = 0; j < kOutputs; ++j) {
      const uint4 packed = o0 + j < out ? __ldg(reinterpret_cast<const uint4*>(w + (o0 + j) * in) + c) : uint4{};
      widen8(packed, wv[j]);
    }
    if (!waited) {
      wait_for_predecessors();
      waited = true;
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
  if (!waited) wait_for_predecessors();  // a lane with no piece of W
#pragma unroll
  for (int j = 0; j < kOutputs; ++j)
#pragma unroll
    for (int r = 0; r < kGemvMaxRows; ++r) {
      const float total = warp_total(acc[j][r]);
      if (lane == 0) partial[warp][j][r] = total;
    }
  __syncthreads();
  // Thread t adds the warps' totals of output j of group g for input row r, in warp order.
  const int t = threadIdx.x, r = t % kGemvMaxRows, jg = t / kGemvMaxRows, g = jg / kOutputs, j = jg % kOutputs;
  const int64_t o = (static_cast<int64_t>(blockIdx.x) * groups + g) * kOutputs + j;
  if (g < groups && r < rows && o < out) {
    float v = 0.0f;
    for (int k = 0; k < split; ++k) v += partial[g * split + k][j][r];
    v += bias ? bias[o] : 0.0f;
    y[r * out + o] = add ? y[r * out + o] + v : v;
  }
}

}  // namespace

void bf16_gemv(const float* x, int64_t rows, const void* w, const float* bias, int64_t in, int64_t out, float* y,
               bool add) {
  if (rows == 0 || out == 0) return;
  const int64_t groups = (out + kOutputs - 1) / kOutputs, pieces_per_lane = (in / 8 + 31) / 32;
  int split = 1;
  while (split < kWarps && groups * split < kTargetWarps && split < pieces_per_lane) split *= 2;
  const int64_t blocks = (groups * split + kWarps - 1) / kWarps;  // the grid takes 2^31 - 1 blocks
  launch_dependent(gemv_kernel, dim3(static_cast<unsigned>(blocks)), dim3(kWarps * 32), 0, "gemv_kernel", x,
                   static_cast<int>(rows), static_cast<const __nv_bfloat16*>(w), bias, in, out, y, add, split);
}

}  // namespace s0::ops::cuda
