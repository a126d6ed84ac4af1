#include "ops/cuda/bf16_gemv.cuh"

#include <cuda_bf16.h>

#include <algorithm>

#include "ops/cuda/dependent_launch.cuh"
#include "ops/cuda/linear.h"
#include "ops/cuda/pointwise.cuh"

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

// The row of W (and column of y) that a block's output k of per_block stands for: output
// blockIdx.x * per_block + k, or with SwiGLU's pairing (units > 0, W = [gate; up] of `units` rows
// each) the gate rows of the block's per_block / 2 units, then their up rows.
__device__ inline int64_t row_of(int64_t k, int64_t per_block, int64_t units) {
  if (units == 0) return blockIdx.x * per_block + k;
  const int64_t half = per_block / 2;
  return (k < half ? 0 : units) + blockIdx.x * half + k % half;
}

// The block's warps form kWarps / split groups; group g takes the block's outputs
// [g kOutputs, (g + 1) kOutputs) (row_of), and its warp k reads the pieces (8 elements each)
// c = 32 (k + split i) + lane of those rows. With SwiGLU's pairing the block also writes
// h[r, unit] = silu(gate) * up for its units, as the activation kernel computes it (same bits).
__global__ void __launch_bounds__(kWarps * 32)
    gemv_kernel(const float* __restrict__ x, int rows, const __nv_bfloat16* __restrict__ w,
                const float* __restrict__ bias, int64_t in, int64_t out, float* y, bool add, int split,
                int64_t units, float* h) {
  __shared__ float partial[kWarps][kOutputs][kGemvMaxRows];
  __shared__ float finals[kWarps * kOutputs][kGemvMaxRows];  // the block's outputs, for the pairing
  allow_dependents();
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  const int groups = kWarps / split, group = warp / split, per_block = groups * kOutputs;
  const int64_t chunks = in / 8, stride = 32 * static_cast<int64_t>(split);
  int64_t row[kOutputs];
#pragma unroll
  for (int j = 0; j < kOutputs; ++j) row[j] = row_of(group * kOutputs + j, per_block, units);
  float acc[kOutputs][kGemvMaxRows] = {};
  // Launched as a dependent (ops/cuda/dependent_launch.cuh): the first pieces of W, which no kernel
  // writes, are loaded before the wait for the kernel that writes x (and may read y).
  bool waited = false;
  for (int64_t c = (warp % split) * 32 + lane; c < chunks; c += stride) {
    float wv[kOutputs][8];
#pragma unroll
    for (int j = 0; j < kOutputs; ++j) {
      const uint4 packed = row[j] < out ? __ldg(reinterpret_cast<const uint4*>(w + row[j] * in) + c) : uint4{};
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
  const int64_t o = row_of(jg, per_block, units);
  if (g < groups && r < rows && o < out) {
    float v = 0.0f;
    for (int k = 0; k < split; ++k) v += partial[g * split + k][j][r];
    v += bias ? bias[o] : 0.0f;
    v = add ? y[r * out + o] + v : v;
    y[r * out + o] = v;
    finals[jg][r] = v;
  }
  if (units == 0) return;
  __syncthreads();
  const int half = per_block / 2, k = t / kGemvMaxRows;
  if (k < half && r < rows) h[r * units + blockIdx.x * half + k] = silu(finals[k][r]) * finals[half + k][r];
}

// The split of W's rows over warps (a function of W's shape alone, so the bits are too).
int gemv_split(int64_t in, int64_t out) {
  const int64_t groups = (out + kOutputs - 1) / kOutputs, pieces_per_lane = (in / 8 + 31) / 32;
  int split = 1;
  while (split < kWarps && groups * split < kTargetWarps && split < pieces_per_lane) split *= 2;
  return split;
}

void launch_gemv(const float* x, int64_t rows, const void* w, const float* bias, int64_t in, int64_t out, float* y,
                 bool add, int64_t units, float* h) {
  if (rows == 0 || out == 0) return;
  const int split = gemv_split(in, out);
  const int64_t groups = (out + kOutputs - 1) / kOutputs;
  const int64_t blocks = (groups * split + kWarps - 1) / kWarps;  // the grid takes 2^31 - 1 blocks
  launch_dependent(gemv_kernel, dim3(static_cast<unsigned>(blocks)), dim3(kWarps * 32), 0, "gemv_kernel", x,
                   static_cast<int>(rows), static_cast<const __nv_bfloat16*>(w), bias, in, out, y, add, split, units,
                   h);
}

}  // namespace

void bf16_gemv(const float* x, int64_t rows, const void* w, const float* bias, int64_t in, int64_t out, float* y,
               bool add) {
  launch_gemv(x, rows, w, bias, in, out, y, add, 0, nullptr);
}

bool bf16_swiglu_fits(int64_t rows, int64_t in, int64_t units) {
  const int64_t half = kWarps / gemv_split(in, 2 * units) * kOutputs / 2;  // units a block pairs
  return gemv_fits(rows, in) && units > 0 && units % half == 0;
}

void bf16_linear_swiglu_forward(const float* x, int64_t rows, const void* w, const float* bias, int64_t in,
                                int64_t units, float* gu, float* h) {
  launch_gemv(x, rows, w, bias, in, 2 * units, gu, false, units, h);
}

}  // namespace s0::ops::cuda
