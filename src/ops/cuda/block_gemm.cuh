#pragma once
// A small matrix product computed by one whole block in f32 on the CUDA cores, for the chunked
// recurrences: operands of a few dozen to a few hundred rows that sit in shared memory or in
// strided rows of global tensors, read through functors, so that transposes, row scalings and
// masks cost no copies. Each thread keeps a TM x TN tile of the result in registers and streams
// the shared dimension, TM + TN loads per TM * TN fused multiply-adds.
//
// Every sum runs over k in ascending order, one thread per result tile: the same bits every run,
// whatever else the GPU is doing.

namespace s0::ops::cuda {

// Which entries A(m, k) may be non-zero: all; only k <= m (lower triangular); only k >= m (upper).
// A banded product skips the zero part; it must really be zero.
enum class Band { full, lower, upper };

// For every m < M, n < N: epilogue(m, n, sum over k < K of a(m, k) * b(k, n)). Called by every
// thread of the block, with no barrier inside: the caller places those. Thread t owns the result
// tiles t, t + blockDim.x, ... (tile i at rows (i / tiles_n) * TM, columns (i % tiles_n) * TN), so
// two products of the same M and N hand a thread the same entries: it may read back in the second
// epilogue what it wrote in the first without a barrier. a is called only with m < M, b with n < N.
template <int TM, int TN, Band band = Band::full, class AOp, class BOp, class Epilogue>
__device__ __forceinline__ void block_gemm(int M, int N, int K, AOp a, BOp b, Epilogue epilogue) {
  const int tiles_n = (N + TN - 1) / TN, tiles = (M + TM - 1) / TM * tiles_n;
  for (int t = threadIdx.x; t < tiles; t += blockDim.x) {
    const int m0 = t / tiles_n * TM, n0 = t % tiles_n * TN;
    const int k0 = band == Band::upper ? m0 : 0;
    const int k1 = band == Band::lower ? min(K, m0 + TM) : K;
    float acc[TM][TN];
#pragma unroll
    for (int r = 0; r < TM; ++r)
#pragma unroll
      for (int c = 0; c < TN; ++c) acc[r][c] = 0.0f;
    for (int k = k0; k < k1; ++k) {
      float av[TM], bv[TN];
#pragma unroll
      for (int r = 0; r < TM; ++r) av[r] = m0 + r < M ? a(m0 + r, k) : 0.0f;
#pragma unroll
      for (int c = 0; c < TN; ++c) bv[c] = n0 + c < N ? b(k, n0 + c) : 0.0f;
#pragma unroll
      for (int r = 0; r < TM; ++r)
#pragma unroll
        for (int c = 0; c < TN; ++c) acc[r][c] = fmaf(av[r], bv[c], acc[r][c]);
    }
#pragma unroll
    for (int r = 0; r < TM; ++r)
#pragma unroll
      for (int c = 0; c < TN; ++c)
        if (m0 + r < M && n0 + c < N) epilogue(m0 + r, n0 + c, acc[r][c]);
  }
}

}  // namespace s0::ops::cuda
