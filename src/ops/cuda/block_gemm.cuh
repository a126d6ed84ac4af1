#pragma once
// A small matrix product computed by one whole block in f32 on the CUDA cores, for the SSD scan
// (ssd.cu; the gated delta rule takes block_mma.cuh, the same contract on the tensor cores):
// operands of a few dozen to a few hundred rows that sit in shared memory or in strided rows of
// global tensors, read through functors, so that transposes, row scalings and masks cost no copies.
// The shared dimension is staged kStageK at a time into shared memory (read from global memory
// along whichever index the caller says is contiguous, so that a warp's loads coalesce), laid out
// [k][m] and [k][n]; each thread then keeps up to kTilesPerThread 4 x 4 tiles of the result in
// registers and takes two 16-byte shared loads per 16 fused multiply-adds.
//
// Every sum runs over k in ascending order, one thread per result tile: the same bits every run,
// whatever else the GPU is doing.
#include <cstdint>

namespace s0::ops::cuda {

// Which entries A(m, k) may be non-zero: all; only k <= m (lower triangular); only k >= m (upper).
// A banded product skips the zero part; it must really be zero.
enum class Band { full, lower, upper };

// Which index of an operand functor walks memory contiguously: k, or the other one (m of A, n of B).
enum class Along { k, mn };

constexpr int kStageK = 16;        // k per staged slab
constexpr int kTilesPerThread = 2;  // result tiles a thread holds at once; larger results take passes

// A staged row of `width` entries: a multiple of 4 for 16-byte loads, plus 4 so that consecutive
// k rows start 4 banks apart.
__host__ __device__ constexpr int stage_width(int width) { return (width + 3) / 4 * 4 + 4; }

// Shared floats block_gemm needs for products whose M and N are at most `max_mn`.
__host__ __device__ constexpr int64_t stage_floats(int max_mn) { return int64_t{kStageK} * 2 * stage_width(max_mn); }

// For every m < M, n < N: epilogue(m, n, sum over k < K of a(m, k) * b(k, n)), with `stage` the
// block's shared staging (stage_floats(max(M, N)) floats, 16-byte aligned). Called by every thread
// of the block; it begins each slab with a barrier, so the operands may be what the block wrote
// just before the call, but it ends without one: results read by other threads need the caller's
// barrier (or the next block_gemm's). Thread t owns the result tiles t + i * blockDim.x (tile j at
// rows (j / tiles_n) * 4, columns (j % tiles_n) * 4), so two products of the same M and N hand a
// thread the same entries: an epilogue may read back what the same thread wrote in an earlier one.
// An epilogue must not write an operand of its own product. a is called only with m < M, b with
// n < N, both with k < K.
template <Band band, Along a_along, Along b_along, class AOp, class BOp, class Epilogue>
__device__ __forceinline__ void block_gemm(int M, int N, int K, AOp a, BOp b, Epilogue epilogue, float* stage) {
  const int wa = stage_width(M), wb = stage_width(N);
  float* As = stage;                  // [kStageK][wa]: As[k][m] = a(m, k0 + k)
  float* Bs = stage + kStageK * wa;   // [kStageK][wb]: Bs[k][n] = b(k0 + k, n)
  const int tiles_n = (N + 3) / 4, tiles = (M + 3) / 4 * tiles_n;
  for (int first = 0; first < tiles; first += kTilesPerThread * blockDim.x) {
    float acc[kTilesPerThread][4][4];
#pragma unroll
    for (int i = 0; i < kTilesPerThread; ++i)
#pragma unroll
      for (int r = 0; r < 4; ++r)
#pragma unroll
        for (int c = 0; c < 4; ++c) acc[i][r][c] = 0.0f;
    for (int k0 = 0; k0 < K; k0 += kStageK) {
      const int kn = min(kStageK, K - k0);
      __syncthreads();  // the last slab's reads are done; the caller's writes are visible
      for (int e = threadIdx.x; e < kStageK * wa; e += blockDim.x) {
        const int m = a_along == Along::k ? e / kStageK : e % wa, k = a_along == Along::k ? e % kStageK : e / wa;
        As[k * wa + m] = m < M && k < kn ? a(m, k0 + k) : 0.0f;
      }
      for (int e = threadIdx.x; e < kStageK * wb; e += blockDim.x) {
        const int n = b_along == Along::k ? e / kStageK : e % wb, k = b_along == Along::k ? e % kStageK : e / wb;
        Bs[k * wb + n] = n < N && k < kn ? b(k0 + k, n) : 0.0f;
      }
      __syncthreads();
#pragma unroll
      for (int i = 0; i < kTilesPerThread; ++i) {
        const int t = first + threadIdx.x + i * blockDim.x;
        if (t >= tiles) continue;
        const int m0 = t / tiles_n * 4, n0 = t % tiles_n * 4;
        // The band's k for these rows, within the slab.
        const int k_lo = band == Band::upper ? max(0, m0 - k0) : 0;
        const int k_hi = band == Band::lower ? min(kn, m0 + 4 - k0) : kn;
        for (int k = k_lo; k < k_hi; ++k) {
          const float4 av = *reinterpret_cast<const float4*>(As + k * wa + m0);
          const float4 bv = *reinterpret_cast<const float4*>(Bs + k * wb + n0);
          const float ar[4] = {av.x, av.y, av.z, av.w}, bc[4] = {bv.x, bv.y, bv.z, bv.w};
#pragma unroll
          for (int r = 0; r < 4; ++r)
#pragma unroll
            for (int c = 0; c < 4; ++c) acc[i][r][c] = fmaf(ar[r], bc[c], acc[i][r][c]);
        }
      }
    }
#pragma unroll
    for (int i = 0; i < kTilesPerThread; ++i) {
      const int t = first + threadIdx.x + i * blockDim.x;
      if (t >= tiles) continue;
      const int m0 = t / tiles_n * 4, n0 = t % tiles_n * 4;
#pragma unroll
      for (int r = 0; r < 4; ++r)
#pragma unroll
        for (int c = 0; c < 4; ++c)
          if (m0 + r < M && n0 + c < N) epilogue(m0 + r, n0 + c, acc[i][r][c]);
    }
  }
}

}  // namespace s0::ops::cuda
