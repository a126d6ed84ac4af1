#pragma once
// Row reductions with one block per row: each thread sums a strided slice, warps combine with
// shuffles, then the warps' partials; or, for short rows, one warp per row (WarpRow). The tree is
// fixed by thread index, so results repeat bit for bit run to run. Sums are in double, as the
// CPU's are: these kernels are memory-bound, so the wider arithmetic costs nothing measurable and
// keeps the GPU within rounding of the CPU.
#include <algorithm>
#include <cstdint>

#include <cuda_runtime.h>

#include "core/error.h"

namespace s0::ops::cuda {

// Threads for a row of `len`: a multiple of the warp, at most 256.
inline int row_threads(int64_t len) { return static_cast<int>(std::clamp<int64_t>((len + 31) / 32 * 32, 32, 256)); }

// The total of v over the thread's segment of the block (threads [k seg, (k + 1) seg), seg a
// multiple of the warp), returned to every thread of it: several rows reduced side by side, each
// in the tree block_sum gives a block of seg threads. Every thread of the block must call it.
__device__ inline double segment_sum(double v, int seg) {
  __shared__ double partial[32];
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, first = static_cast<int>(threadIdx.x) / seg * (seg / 32);
  if (lane == 0) partial[warp] = v;
  __syncthreads();
  v = lane < seg / 32 ? partial[first + lane] : 0.0;
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  __syncthreads();  // partial may be reused by the caller's next sum
  return v;
}

// The block's total of v, returned to every thread. Every thread of the block must call it.
__device__ inline double block_sum(double v) { return segment_sum(v, static_cast<int>(blockDim.x)); }

// The threads that own one row of a row kernel, the elements of it each thread holds in registers
// (kHeld of them: j = thread + k threads, k ascending, those below the row's length), and their sum.
// A row kernel loads its thread's elements before it uses any: every load of the row in flight at
// once, one trip to memory (the loops this replaced, each load waited for before the next, kept the
// forward norms and the warps' backward at a fifth to a half of the memory bandwidth). The row's
// length fits an int.
// BlockRow: the block owns row blockIdx.x; with_row_unit gives it the threads (a multiple of the
// warp) that hold the row at K each. WarpRow: each warp of kWarpRowBlock threads owns a row of at
// most 32 K: a row of 128 given a block of its own did one element per thread and spent its time in
// the barriers and the block's start (GatedDeltaNet's heads: 0.12 ms for 25 MB); a warp sums with
// shuffles alone. A row kernel takes the row count, and a warp past it returns (after the
// dependent-launch wait, which every path must reach).
template <int K>
struct BlockRow {
  static constexpr int kHeld = K;
  __device__ int64_t row() const { return blockIdx.x; }
  __device__ int thread() const { return static_cast<int>(threadIdx.x); }
  __device__ int threads() const { return static_cast<int>(blockDim.x); }
  __device__ double sum(double v) const { return block_sum(v); }
};

constexpr int kWarpRowBlock = 256;

template <int K>
struct WarpRow {
  static constexpr int kHeld = K;
  __device__ int64_t row() const { return blockIdx.x * int64_t(kWarpRowBlock / 32) + threadIdx.x / 32; }
  __device__ int thread() const { return static_cast<int>(threadIdx.x % 32); }
  __device__ int threads() const { return 32; }
  __device__ double sum(double v) const {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
  }
};

template <typename Unit>
inline constexpr bool is_block_row = false;
template <int K>
inline constexpr bool is_block_row<BlockRow<K>> = true;

// f(k, j) for each element j of a row of len that the unit's thread holds, in ascending k.
template <typename Unit, typename F>
__device__ void for_held(const Unit& u, int len, F&& f) {
#pragma unroll
  for (int k = 0; k < Unit::kHeld; ++k) {
    const int j = u.thread() + k * u.threads();
    if (j < len) f(k, j);
  }
}

// Rows up to 128 long: a warp at 4 elements a thread (every head of GatedDeltaNet and Mamba-2);
// up to 256: a warp at 8; longer, a block. A block that holds its row takes 16 elements a thread
// and the threads to cover the row (up to 512: a hidden size of 2560 takes 160), so it holds rows up
// to kHeldRowMax. A block that loops over its row (BlockRowLoop::yes: the backward kernels', whose
// held rows took half again as long at 80 registers a thread, H200) takes row_threads(len).
constexpr int kBlockHeld = 16;
constexpr int64_t kHeldRowMax = int64_t{kBlockHeld} * 512;
enum class BlockRowLoop { no, yes };

// f(unit, grid, block) with the unit for n rows of len, and its launch shape.
template <typename F>
void with_row_unit(int64_t n, int64_t len, F&& f, BlockRowLoop loop = BlockRowLoop::no) {
  if (n >= (int64_t{1} << 31)) fail("norms over ", n, " rows: the GPU's norms take fewer than 2^31");
  const dim3 warp_rows(static_cast<unsigned>((n + kWarpRowBlock / 32 - 1) / (kWarpRowBlock / 32)));
  if (len <= 128) return f(WarpRow<4>{}, warp_rows, dim3(kWarpRowBlock));
  if (len <= 256) return f(WarpRow<8>{}, warp_rows, dim3(kWarpRowBlock));
  const dim3 block_rows(static_cast<unsigned>(n));
  if (loop == BlockRowLoop::yes) return f(BlockRow<kBlockHeld>{}, block_rows, dim3(row_threads(len)));
  if (len > kHeldRowMax) fail("norm rows of ", len, " elements: the GPU's norms take rows of at most ", kHeldRowMax);
  const int64_t threads = (len + kBlockHeld - 1) / kBlockHeld;
  f(BlockRow<kBlockHeld>{}, block_rows, dim3(static_cast<unsigned>((threads + 31) / 32 * 32)));
}

}  // namespace s0::ops::cuda
