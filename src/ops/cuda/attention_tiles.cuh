#pragma once
// The building blocks of the tiled attention kernels (ops/cuda/attention.cu): a block of kThreads
// threads owns kRows rows (queries, or keys in the dk/dv kernel) of one head, and walks tiles of Bc
// rows of the other side staged in shared memory. Every row tile lives in shared memory as
// [rows][DP + 4] floats: DP is the head dim padded up to 64, 128 or 256 (the padding zero-filled,
// so it adds exact zeros to every dot product), and the 4-float skew puts consecutive rows' 16-byte
// chunks in different banks. Thread (ty, tx) = (tid / 16, tid % 16) holds, in registers, rows
// ty + 16 i (i < 4) of every [kRows x something] tile: a score tile's columns tx + 16 j and an
// accumulator's columns 4 tx + 64 c + e. Register arrays are indexed only by unrolled constants, so
// nothing spills to local memory. Each sum runs in a fixed order: results repeat bit for bit.
#include <cstdint>

#include "ops/cuda/async_copy.cuh"

namespace s0::ops::cuda {

constexpr int kThreads = 256;
constexpr int kRows = 64;          // the block's own rows
constexpr int kRowsPerThread = 4;  // rows ty + 16 i
constexpr int kRowThreads = 16;    // the threads sharing a row (a half warp), tx = 0 .. 15

// Floats between consecutive rows of a shared-memory tile of padded head dim DP.
template <int DP>
constexpr int row_stride() {
  return DP + 4;
}

// The padded head dim that serves D (<= 256).
inline int padded_head_dim(int64_t D) { return D <= 64 ? 64 : D <= 128 ? 128 : 256; }

// Copies `valid` rows of D floats, `src_stride` apart in global memory, into tile[rows][DP + 4];
// rows from `valid` on and columns from D on become 0, so they add nothing (and no NaN) later. With
// `async` (D a multiple of 4 and 16-byte aligned rows), 16-byte cp.async copies that bypass the
// registers and land by a later wait_stages (the caller commits them as one group), so the block
// computes while they travel; otherwise plain loads and stores, done on return.
template <int DP, int rows>
__device__ inline void stage_rows(float* tile, const float* src, int64_t src_stride, int64_t valid, int64_t D,
                                  bool async) {
  if (async) {
#pragma unroll 4
    for (int e = threadIdx.x; e < rows * DP / 4; e += kThreads) {
      const int r = e / (DP / 4), c = 4 * (e % (DP / 4));
      const bool in = r < valid && c < D;
      // Nothing is read where `in` is false (source size 0: sixteen zero bytes land instead).
      copy16_async(tile + r * row_stride<DP>() + c, in ? src + r * src_stride + c : src, in);
    }
    return;
  }
#pragma unroll 4
  for (int e = threadIdx.x; e < rows * DP; e += kThreads) {
    const int r = e / DP, c = e % DP;
    tile[r * row_stride<DP>() + c] = r < valid && c < D ? src[r * src_stride + c] : 0.0f;
  }
}

// s[i][j] = A[ty + 16 i] . B[tx + 16 j] over the padded head dim: A is a [kRows][DP + 4] tile, B a
// [Bc][DP + 4] one. Each thread's four A rows are shared by its half warp (broadcast reads); its B
// rows are 16 consecutive rows whose skew keeps the 16-byte reads free of bank conflicts.
template <int DP, int Bc>
__device__ inline void score_tile(const float* A, const float* B, float (&s)[kRowsPerThread][Bc / kRowThreads]) {
  const int ty = threadIdx.x / kRowThreads, tx = threadIdx.x % kRowThreads;
#pragma unroll
  for (int i = 0; i < kRowsPerThread; ++i)
#pragma unroll
    for (int j = 0; j < Bc / kRowThreads; ++j) s[i][j] = 0.0f;
#pragma unroll 2
  for (int d = 0; d < DP; d += 4) {
    float4 a[kRowsPerThread], b[Bc / kRowThreads];
#pragma unroll
    for (int i = 0; i < kRowsPerThread; ++i)
      a[i] = *reinterpret_cast<const float4*>(A + (ty + kRowThreads * i) * row_stride<DP>() + d);
#pragma unroll
    for (int j = 0; j < Bc / kRowThreads; ++j)
      b[j] = *reinterpret_cast<const float4*>(B + (tx + kRowThreads * j) * row_stride<DP>() + d);
#pragma unroll
    for (int i = 0; i < kRowsPerThread; ++i)
#pragma unroll
      for (int j = 0; j < Bc / kRowThreads; ++j) {
        s[i][j] = fmaf(a[i].x, b[j].x, s[i][j]);
        s[i][j] = fmaf(a[i].y, b[j].y, s[i][j]);
        s[i][j] = fmaf(a[i].z, b[j].z, s[i][j]);
        s[i][j] = fmaf(a[i].w, b[j].w, s[i][j]);
      }
  }
}

// The backward's two score tiles of one step, first = A1 . B1 and then second = A2 . B2 (as
// score_tile), waiting for the second's rows only once the first is done: their copies, committed
// last, travel meanwhile.
template <int DP, int Bc>
__device__ inline void two_score_tiles(const float* A1, const float* B1,
                                       float (&first)[kRowsPerThread][Bc / kRowThreads], const float* A2,
                                       const float* B2, float (&second)[kRowsPerThread][Bc / kRowThreads]) {
  wait_stages<1>();
  __syncthreads();
  score_tile<DP, Bc>(A1, B1, first);
  wait_stages<0>();
  __syncthreads();
  score_tile<DP, Bc>(A2, B2, second);
}

// The softmax's backward over a step's score tiles, in place: s (scores q . k) becomes
// P = exp(scale s - lse) and dp (dout . v) becomes dS = P (dp - delta), both 0 where seen(i, j) is
// false (the query does not see the key, or either is past the sequence). lse(i, j) and delta(i, j)
// give the entry's query's values.
template <int Bc, typename Seen, typename Lse, typename Delta>
__device__ inline void softmax_backward_tile(float (&s)[kRowsPerThread][Bc / kRowThreads],
                                             float (&dp)[kRowsPerThread][Bc / kRowThreads], float scale, Seen seen,
                                             Lse lse, Delta delta) {
#pragma unroll
  for (int i = 0; i < kRowsPerThread; ++i)
#pragma unroll
    for (int j = 0; j < Bc / kRowThreads; ++j) {
      const bool in = seen(i, j);
      const float p = expf(scale * s[i][j] - lse(i, j));
      s[i][j] = in ? p : 0.0f;
      dp[i][j] = in ? p * (dp[i][j] - delta(i, j)) : 0.0f;
    }
}

// Where a score tile's weights go for accumulate_tile: W[kRows][Bc + 1] (the extra column spreads
// the half warps' two rows over different banks).
template <int Bc>
__device__ inline void store_weights(float* W, const float (&w)[kRowsPerThread][Bc / kRowThreads]) {
  const int ty = threadIdx.x / kRowThreads, tx = threadIdx.x % kRowThreads;
#pragma unroll
  for (int i = 0; i < kRowsPerThread; ++i)
#pragma unroll
    for (int j = 0; j < Bc / kRowThreads; ++j) W[(ty + kRowThreads * i) * (Bc + 1) + tx + kRowThreads * j] = w[i][j];
}

// acc[i][4 c + e] += sum_r W[ty + 16 i][r] M[r][4 tx + 64 c + e] over the Bc rows r in order: W is
// the [kRows][Bc + 1] weight tile, M a [Bc][DP + 4] row tile.
template <int DP, int Bc>
__device__ inline void accumulate_tile(const float* W, const float* M, float (&acc)[kRowsPerThread][DP / 16]) {
  const int ty = threadIdx.x / kRowThreads, tx = threadIdx.x % kRowThreads;
#pragma unroll 2
  for (int r = 0; r < Bc; ++r) {
    float w[kRowsPerThread];
#pragma unroll
    for (int i = 0; i < kRowsPerThread; ++i) w[i] = W[(ty + kRowThreads * i) * (Bc + 1) + r];
#pragma unroll
    for (int c = 0; c < DP / 64; ++c) {
      const float4 m = *reinterpret_cast<const float4*>(M + r * row_stride<DP>() + 4 * tx + 64 * c);
#pragma unroll
      for (int i = 0; i < kRowsPerThread; ++i) {
        acc[i][4 * c] = fmaf(w[i], m.x, acc[i][4 * c]);
        acc[i][4 * c + 1] = fmaf(w[i], m.y, acc[i][4 * c + 1]);
        acc[i][4 * c + 2] = fmaf(w[i], m.z, acc[i][4 * c + 2]);
        acc[i][4 * c + 3] = fmaf(w[i], m.w, acc[i][4 * c + 3]);
      }
    }
  }
}

// Writes rows ty + 16 i of an accumulator, times `factor[i]`, to dst (row r at
// dst + r * dst_stride): the first `valid` rows and D columns only.
template <int DP>
__device__ inline void write_rows(const float (&acc)[kRowsPerThread][DP / 16], const float (&factor)[kRowsPerThread],
                                  float* dst, int64_t dst_stride, int64_t valid, int64_t D) {
  const int ty = threadIdx.x / kRowThreads, tx = threadIdx.x % kRowThreads;
#pragma unroll
  for (int i = 0; i < kRowsPerThread; ++i) {
    const int r = ty + kRowThreads * i;
    if (r >= valid) continue;
#pragma unroll
    for (int c = 0; c < DP / 64; ++c)
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const int col = 4 * tx + 64 * c + e;
        if (col < D) dst[r * dst_stride + col] = acc[i][4 * c + e] * factor[i];
      }
  }
}

// The max and the sum over a row's 16 threads (a half warp: xor offsets below 16 stay inside it),
// in a fixed butterfly order.
__device__ inline float row_max(float v) {
#pragma unroll
  for (int o = kRowThreads / 2; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

__device__ inline float row_sum(float v) {
#pragma unroll
  for (int o = kRowThreads / 2; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

}  // namespace s0::ops::cuda
