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

// The block's total of v, returned to every thread. Every thread of the block must call it.
__device__ inline double block_sum(double v) {
  __shared__ double partial[32];
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  if (lane == 0) partial[warp] = v;
  __syncthreads();
  v = lane < static_cast<int>(blockDim.x / 32) ? partial[lane] : 0.0;
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  __syncthreads();  // partial may be reused by the caller's next block_sum
  return v;
}

}  // namespace s0::ops::cuda
