#include "ops/cuda/bf16_gemv.cuh"

#include <cuda_bf16.h>

#include <algorithm>
#include <map>
#include <mutex>

#include "ops/cuda/async_copy.cuh"
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

// Eight products of a widened piece of W with eight consecutive x (a, then b), summed left to right:
// both kernels' expression, so their sums (and the compiler's fused multiply-adds) are the same.
__device__ __forceinline__ float dot8(const float* w, float4 a, float4 b) {
  return w[0] * a.x + w[1] * a.y + w[2] * a.z + w[3] * a.w + w[4] * b.x + w[5] * b.y + w[6] * b.z + w[7] * b.w;
}

// The row of W (and column of y) that output k of per_block of the block's unit u stands for:
// output u * per_block + k, or with SwiGLU's pairing (units > 0, W = [gate; up] of `units` rows
// each) the gate rows of the unit's per_block / 2 units, then their up rows.
__device__ inline int64_t row_of(int64_t u, int64_t k, int64_t per_block, int64_t units) {
  if (units == 0) return u * per_block + k;
  const int64_t half = per_block / 2;
  return (k < half ? 0 : units) + u * half + k % half;
}

__device__ inline int row_of32(int u, int k, int per_block, int units) {
  if (units == 0) return u * per_block + k;
  const int half = per_block / 2;
  return (k < half ? 0 : units) + u * half + k % half;
}

// The reference order (the kernel before the persistent one, kept to check it bit for bit and to
// time against it): one block per unit. The block's warps form kWarps / split groups; group g
// takes the block's outputs [g kOutputs, (g + 1) kOutputs) (row_of), and its warp k reads the
// pieces (8 elements each) c = 32 (k + split i) + lane of those rows. With SwiGLU's pairing the
// block also writes h[r, unit] = silu(gate) * up for its units, as the activation kernel computes
// it (same bits).
__global__ void __launch_bounds__(kWarps * 32)
    gemv_reference_kernel(const float* __restrict__ x, int rows, const __nv_bfloat16* __restrict__ w,
                          const float* __restrict__ bias, int64_t in, int64_t out, float* y, bool add, int split,
                          int64_t units, float* h) {
  __shared__ float partial[kWarps][kOutputs][kGemvMaxRows];
  __shared__ float finals[kWarps * kOutputs][kGemvMaxRows];  // the block's outputs, for the pairing
  allow_dependents();
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  const int groups = kWarps / split, group = warp / split, per_block = groups * kOutputs;
  const int64_t chunks = in / 8, stride = 32 * static_cast<int64_t>(split), u = blockIdx.x;
  int64_t row[kOutputs];
#pragma unroll
  for (int j = 0; j < kOutputs; ++j) row[j] = row_of(u, group * kOutputs + j, per_block, units);
  float acc[kOutputs][kGemvMaxRows] = {};
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
      for (int j = 0; j < kOutputs; ++j) acc[j][r] += dot8(wv[j], a, b);
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
  const int64_t o = row_of(u, jg, per_block, units);
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
  if (k < half && r < rows) h[r * units + u * half + k] = silu(finals[k][r]) * finals[half + k][r];
}

// The persistent kernel: the same units (a block of the reference grid each: the same rows, the
// same pieces to each lane, the same sums), taken by a grid that the GPU holds at once, block b
// its units b, b + gridDim.x, ... Each warp streams its pieces of W through kDepth stages of
// shared memory (cp.async, no registers held while they travel): while it multiplies step s the
// copies of steps s + 1 .. s + kDepth - 1 are in flight, across the end of a unit into the next
// (the reference waits on one step at a time and starts again at each block). A lane reads back
// only the pieces it copied, so the warps need no barrier but the unit's. kRows input rows (1 to
// kGemvMaxRows): a batch of one keeps one row of sums. The steps of a unit are its i < steps
// (lane 0's pieces c = first + i stride + lane, the most of any lane); a lane whose piece is past
// the row skips it, as the reference does.
template <int kRows, int kDepth>
__global__ void __launch_bounds__(kWarps * 32)
    gemv_stream_kernel(const float* __restrict__ x, const __nv_bfloat16* __restrict__ w,
                       const float* __restrict__ bias, int64_t in, int64_t out, float* y, bool add, int split,
                       int units, float* h, int n_units) {
  __shared__ uint4 stages[kWarps][kDepth][kOutputs][32];         // each warp's ring of steps
  __shared__ float partial[2][kWarps][kOutputs][kGemvMaxRows];  // by the parity of the block's unit
  __shared__ float finals[kWarps * kOutputs][kGemvMaxRows];      // the unit's outputs, for the pairing
  allow_dependents();
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  const int groups = kWarps / split, group = warp / split, per_block = groups * kOutputs;
  // Indices of pieces, rows and units fit 32 bits (W's elements need not: row * in is 64-bit).
  const int chunks = static_cast<int>(in / 8), stride = 32 * split, first = (warp % split) * 32;
  const int steps = chunks > first ? (chunks - first - 1) / stride + 1 : 0;  // per unit
  const int mine = (n_units - static_cast<int>(blockIdx.x) + gridDim.x - 1) / gridDim.x;  // the block's units
  const int total = mine * steps;

  // Starts the copies of the next step to load (unit lu, step li) into its stage, and closes them
  // into a group (empty past the last step, so that every step is one group).
  int lu = blockIdx.x, li = 0, loaded = 0;
  auto load = [&]() {
    if (loaded < total) {
      const int c = first + li * stride + lane;
      uint4* stage = stages[warp][loaded % kDepth][0];
#pragma unroll
      for (int j = 0; j < kOutputs; ++j) {
        const int row = row_of32(lu, group * kOutputs + j, per_block, units);
        const bool in_w = row < out && c < chunks;  // else sixteen zero bytes (rows past W: never written)
        const __nv_bfloat16* from = in_w ? w + static_cast<int64_t>(row) * in + 8 * static_cast<int64_t>(c) : w;
        copy16_async(reinterpret_cast<float*>(stage + j * 32 + lane), reinterpret_cast<const float*>(from), in_w);
      }
      if (++li == steps) {
        li = 0;
        lu += gridDim.x;
      }
    }
    ++loaded;
    commit_stage();
  };

  float acc[kOutputs][kRows] = {};
  int cu = blockIdx.x, parity = 0;  // the unit being multiplied

  // The unit's end: the warp's sums to shared memory, the block's outputs (and pairs) written.
  auto finish = [&]() {
#pragma unroll
    for (int j = 0; j < kOutputs; ++j)
#pragma unroll
      for (int r = 0; r < kRows; ++r) {
        const float t = warp_total(acc[j][r]);
        if (lane == 0) partial[parity][warp][j][r] = t;
        acc[j][r] = 0.0f;
      }
    __syncthreads();
    // Thread t adds the warps' totals of output j of group g for input row r, in warp order.
    const int t = threadIdx.x, r = t % kGemvMaxRows, jg = t / kGemvMaxRows, g = jg / kOutputs, j = jg % kOutputs;
    const int o = row_of32(cu, jg, per_block, units);
    if (g < groups && r < kRows && o < out) {
      float v = 0.0f;
      for (int k = 0; k < split; ++k) v += partial[parity][g * split + k][j][r];
      v += bias ? bias[o] : 0.0f;
      v = add ? y[r * out + o] + v : v;
      y[r * out + o] = v;
      finals[jg][r] = v;
    }
    if (units != 0) {
      __syncthreads();
      const int half = per_block / 2, k = t / kGemvMaxRows;
      if (k < half && r < kRows) h[r * units + cu * half + k] = silu(finals[k][r]) * finals[half + k][r];
    }
    parity ^= 1;
    cu += gridDim.x;
  };

  // Launched as a dependent (ops/cuda/dependent_launch.cuh): the first kDepth steps of W, which no
  // kernel writes, are in flight before the wait for the kernel that writes x (and may read y).
#pragma unroll
  for (int d = 0; d < kDepth; ++d) load();
  wait_for_predecessors();
  if (steps == 0) {  // a warp with no piece of W (a short row split four ways) still adds its zeros
    for (int n = 0; n < mine; ++n) finish();
    return;
  }
  for (int s = 0, i = 0; s < total; ++s) {
    wait_stages<kDepth - 1>();  // step s has landed (this lane's copies)
    const int c = first + i * stride + lane;
    if (c < chunks) {
      const uint4* stage = stages[warp][s % kDepth][0];
      float wv[kOutputs][8];
#pragma unroll
      for (int j = 0; j < kOutputs; ++j) widen8(stage[j * 32 + lane], wv[j]);
#pragma unroll
      for (int r = 0; r < kRows; ++r) {
        const float4* xr = reinterpret_cast<const float4*>(x + r * in) + 2 * c;
        const float4 a = __ldg(xr), b = __ldg(xr + 1);
#pragma unroll
        for (int j = 0; j < kOutputs; ++j) acc[j][r] += dot8(wv[j], a, b);  // the reference's sum
      }
    }
    load();  // step s + kDepth, into the stage just read
    if (++i == steps) {
      i = 0;
      finish();
    }
  }
}

// The split of W's rows over warps (a function of W's shape alone, so the bits are too).
int gemv_split(int64_t in, int64_t out) {
  const int64_t groups = (out + kOutputs - 1) / kOutputs, pieces_per_lane = (in / 8 + 31) / 32;
  int split = 1;
  while (split < kWarps && groups * split < kTargetWarps && split < pieces_per_lane) split *= 2;
  return split;
}

// The units (blocks of the reference grid) of a product.
int64_t gemv_units(int64_t in, int64_t out) {
  const int64_t groups = (out + kOutputs - 1) / kOutputs;
  return (groups * gemv_split(in, out) + kWarps - 1) / kWarps;
}

// How many blocks of a kernel the current GPU holds at once, with `carveout` percent of the
// multiprocessor's unified L1 and shared memory asked for as shared memory first. Found once per
// GPU and kernel and kept (the queries cost tens of microseconds; a decode step launches the GEMV
// 129 times), as the GatedDeltaNet step kernel's are.
int64_t resident_blocks(const void* kernel, int carveout, const char* name) {
  static std::mutex mutex;
  static std::map<std::pair<int, const void*>, int64_t> found;
  int device = 0;
  S0_CUDA_CHECK(cudaGetDevice(&device));
  const std::lock_guard<std::mutex> lock(mutex);
  if (const auto it = found.find({device, kernel}); it != found.end()) return it->second;
  check(cudaFuncSetAttribute(kernel, cudaFuncAttributePreferredSharedMemoryCarveout, carveout), name);
  int sms = 0, per_sm = 0;
  S0_CUDA_CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device));
  check(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, kernel, kWarps * 32, 0), name);
  return found[{device, kernel}] = static_cast<int64_t>(sms) * std::max(per_sm, 1);
}

// The shared memory the persistent kernel asks for, in percent of the 228 KB of an H100's or
// H200's multiprocessor: its stages (8 KB a block for each step in flight) must leave L1 room for
// the input rows, which every warp reads (4 bytes of x a row for each 2 of W: from L2 they would
// cost more than W's own traffic). One row of 9216 floats is 36 KB: 71% (164 KB shared, 92 KB L1,
// 6 blocks of three stages). Four rows are 147 KB: 43% (100 KB shared, 156 KB L1, 3 blocks).
constexpr int carveout_for(int rows) { return rows == 1 ? 71 : 43; }

// The persistent grid for n units: as few blocks as finish them in the fewest rounds the GPU
// holds, so every block takes the same number of units (or one fewer): with 1152 units and 792
// blocks resident, 576 blocks of 2 units, not 360 of 2 beside 432 that end halfway. The slots left
// free take the next kernel's blocks (launched as a dependent) early.
int64_t balanced_grid(int64_t n_units, int64_t resident) {
  const int64_t rounds = (n_units + resident - 1) / resident;
  return (n_units + rounds - 1) / rounds;
}

template <int kRows, int kDepth>
void launch_stream(const float* x, const void* w, const float* bias, int64_t in, int64_t out, float* y, bool add,
                   int split, int64_t units, float* h, int64_t n_units) {
  const auto kernel = gemv_stream_kernel<kRows, kDepth>;
  const int64_t resident =
      resident_blocks(reinterpret_cast<const void*>(kernel), carveout_for(kRows), "gemv_stream_kernel");
  const int64_t blocks = balanced_grid(n_units, resident);
  launch_dependent(gemv_stream_kernel<kRows, kDepth>, dim3(static_cast<unsigned>(blocks)), dim3(kWarps * 32), 0,
                   "gemv_stream_kernel", x,
                   static_cast<const __nv_bfloat16*>(w), bias, in, out, y, add, split, static_cast<int>(units), h,
                   static_cast<int>(n_units));
}

template <int kDepth>
void launch_stream_rows(const float* x, int64_t rows, const void* w, const float* bias, int64_t in, int64_t out,
                        float* y, bool add, int split, int64_t units, float* h, int64_t n_units) {
  static_assert(kGemvMaxRows == 4);
  switch (rows) {
    case 1: return launch_stream<1, kDepth>(x, w, bias, in, out, y, add, split, units, h, n_units);
    case 2: return launch_stream<2, kDepth>(x, w, bias, in, out, y, add, split, units, h, n_units);
    case 3: return launch_stream<3, kDepth>(x, w, bias, in, out, y, add, split, units, h, n_units);
    default: return launch_stream<4, kDepth>(x, w, bias, in, out, y, add, split, units, h, n_units);
  }
}

void launch_gemv(GemvKernel kernel, const float* x, int64_t rows, const void* w, const float* bias, int64_t in,
                 int64_t out, float* y, bool add, int64_t units, float* h) {
  if (rows == 0 || out == 0) return;
  if (!gemv_fits(rows, in)) fail("bf16 GEMV: ", rows, " rows of ", in, " do not fit the kernel");
  const int split = gemv_split(in, out);
  const int64_t n_units = gemv_units(in, out);  // the reference grid takes 2^31 - 1 blocks
  switch (kernel) {
    case GemvKernel::reference:
      return launch_dependent(gemv_reference_kernel, dim3(static_cast<unsigned>(n_units)), dim3(kWarps * 32), 0,
                              "gemv_reference_kernel", x, static_cast<int>(rows),
                              static_cast<const __nv_bfloat16*>(w), bias, in, out, y, add, split, units, h);
    case GemvKernel::stream2:
      return launch_stream_rows<2>(x, rows, w, bias, in, out, y, add, split, units, h, n_units);
    case GemvKernel::stream3:
      return launch_stream_rows<3>(x, rows, w, bias, in, out, y, add, split, units, h, n_units);
  }
}

}  // namespace

void bf16_gemv(const float* x, int64_t rows, const void* w, const float* bias, int64_t in, int64_t out, float* y,
               bool add) {
  launch_gemv(gemv_kernel_for(rows), x, rows, w, bias, in, out, y, add, 0, nullptr);
}

void bf16_gemv_with(GemvKernel kernel, const float* x, int64_t rows, const void* w, const float* bias, int64_t in,
                    int64_t out, float* y, bool add, int64_t units, float* h) {
  launch_gemv(kernel, x, rows, w, bias, in, out, y, add, units, h);
}

bool bf16_swiglu_fits(int64_t rows, int64_t in, int64_t units) {
  const int64_t half = kWarps / gemv_split(in, 2 * units) * kOutputs / 2;  // units a block pairs
  return gemv_fits(rows, in) && units > 0 && units % half == 0;
}

void bf16_linear_swiglu_forward(const float* x, int64_t rows, const void* w, const float* bias, int64_t in,
                                int64_t units, float* gu, float* h) {
  launch_gemv(gemv_kernel_for(rows), x, rows, w, bias, in, 2 * units, gu, false, units, h);
}

}  // namespace s0::ops::cuda
