#pragma once
// Row reductions with one block per row: each thread sums a strided slice, warps combine with
// shuffles, then the warps' partials. The tree is fixed by thread index, so results repeat bit for
// bit run to run. Sums are in double, as the CPU's are: these kernels are memory-bound, so the
// wider arithmetic costs nothing measurable and keeps the GPU within rounding of the CPU.
#include <algorithm>
#include <cstdint>

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

}  // namespace s0::ops::cuda
