#pragma once
// The building blocks of the tiled attention kernels (ops/cuda/attention.cu): a block of kThreads
// threads owns kRows rows (queries, or keys in the dk/dv kernel) of one head, and walks tiles of Bc
// rows of the other side staged in shared memory. Every row tile lives in shared memory as
// [rows][DP + 4] floats: DP is the head dim padded up to 64, 128 or 256 (the padding zero-filled,
// so it adds exact zeros to every dot product), and the 4-float skew puts consecutive rows 4 banks
// apart. Both products run on the tensor cores (block_mma.cuh's mma_step: 3xTF32 at f32's accuracy
// in the f32 mode, TF32 in the bf16 mode; ProductPrecision P), warp w taking rows 16 (w % 4) .. + 15
// and half the columns (w / 4): the scores q k^T (score_tile) and the weighted sums of rows
// (accumulate_tile), whose accumulators stay in the tensor cores' fragment layout across tiles
// (thread (g, t4) = (lane / 4, lane % 4) holds rows g and g + 8 of its warp's 16, columns 2 t4 and
// 2 t4 + 1 of each 8). The softmax works on the scores in another layout: thread (ty, tx) = (tid /
// 16, tid % 16) holds rows ty + 16 i (i < 4), columns tx + 16 j, so that a row's 16 threads are a
// half warp that reduces with shuffles; the scores reach it through shared memory. Register arrays
// are indexed only by unrolled constants, so nothing spills to local memory. Each sum runs in a
// fixed order: results repeat bit for bit, and a sequence gets the same bits in any batch.
#include <cstdint>

#include "ops/cuda/async_copy.cuh"
#include "ops/cuda/block_mma.cuh"

namespace s0::ops::cuda {

constexpr int kThreads = 256;
constexpr int kRows = 64;          // the block's own rows
constexpr int kRowsPerThread = 4;  // rows ty + 16 i
constexpr int kRowThreads = 16;    // the threads sharing a row (a half warp), tx = 0 .. 15
static_assert(kThreads == 256 && kRows == 64, "eight warps: four row blocks of 16, two column halves");

// Floats between consecutive rows of a [kRows][Bc + 4] weight tile: rows 4 banks apart, so that an
// A fragment's loads (rows g, columns t4) land in 32 distinct banks.
template <int Bc>
constexpr int weight_ld() {
  return Bc + 4;
}

// This thread's warp tile: its first row (of the block's kRows) and fragment coordinates.
struct WarpTile {
  int m0, g, t4;
  __device__ WarpTile() : m0(threadIdx.x / 32 % 4 * 16), g(threadIdx.x % 32 / 4), t4(threadIdx.x % 4) {}
  // The column half a warp takes of `width` columns.
  __device__ int n0(int width) const { return static_cast<int>(threadIdx.x) / 128 * (width / 2); }
};

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

// s[i][j] = A[ty + 16 i] . B[tx + 16 j] over the padded head dim, by products P: A is a
// [kRows][DP + 4] tile, B a [Bc][DP + 4] one. The warps' sums go through `scratch`, a [kRows]
// [weight_ld<Bc>()] tile that no thread uses during the call, into the softmax's layout; a thread
// reads back exactly the entries store_weights later writes for it, so a weight tile may serve.
template <ProductPrecision P, int DP, int Bc>
__device__ inline void score_tile(const float* A, const float* B, float* scratch,
                                  float (&s)[kRowsPerThread][Bc / kRowThreads]) {
  using Entry = typename Staged<P>::Entry;
  constexpr int kTilesN = Bc / 16;  // the warp's 8-column tiles
  const WarpTile w;
  const int n0 = w.n0(Bc);
  float acc[kTilesN][4] = {};
  const float* Ar = A + (w.m0 + w.g) * row_stride<DP>() + w.t4;
#pragma unroll 4
  for (int k = 0; k < DP; k += 8) {
    const Entry x[4] = {Staged<P>::of(Ar[k]), Staged<P>::of(Ar[8 * row_stride<DP>() + k]), Staged<P>::of(Ar[k + 4]),
                        Staged<P>::of(Ar[8 * row_stride<DP>() + k + 4])};
#pragma unroll
    for (int t = 0; t < kTilesN; ++t) {
      const float* Br = B + (n0 + 8 * t + w.g) * row_stride<DP>() + w.t4 + k;
      const Entry y[2] = {Staged<P>::of(Br[0]), Staged<P>::of(Br[4])};
      mma_step<P>(acc[t], x, y);
    }
  }
  // Fragment entry c of tile t: row g (+8 for c >= 2), column 2 t4 (+1 for odd c).
#pragma unroll
  for (int t = 0; t < kTilesN; ++t)
#pragma unroll
    for (int c = 0; c < 4; ++c)
      scratch[(w.m0 + w.g + (c >> 1) * 8) * weight_ld<Bc>() + n0 + 8 * t + 2 * w.t4 + (c & 1)] = acc[t][c];
  __syncthreads();
  const int ty = threadIdx.x / kRowThreads, tx = threadIdx.x % kRowThreads;
#pragma unroll
  for (int i = 0; i < kRowsPerThread; ++i)
#pragma unroll
    for (int j = 0; j < Bc / kRowThreads; ++j)
      s[i][j] = scratch[(ty + kRowThreads * i) * weight_ld<Bc>() + tx + kRowThreads * j];
}

// The backward's two score tiles of one step, first = A1 . B1 and then second = A2 . B2 (as
// score_tile, both through `scratch`), waiting for the second's rows only once the first is done:
// their copies, committed last, travel meanwhile.
template <ProductPrecision P, int DP, int Bc>
__device__ inline void two_score_tiles(const float* A1, const float* B1,
                                       float (&first)[kRowsPerThread][Bc / kRowThreads], const float* A2,
                                       const float* B2, float (&second)[kRowsPerThread][Bc / kRowThreads],
                                       float* scratch) {
  wait_stages<1>();
  __syncthreads();
  score_tile<P, DP, Bc>(A1, B1, scratch, first);
  wait_stages<0>();
  __syncthreads();  // also: every thread has read the first tile back from the scratch
  score_tile<P, DP, Bc>(A2, B2, scratch, second);
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

// Where a score tile's weights go for accumulate_tile: W[kRows][weight_ld<Bc>()].
template <int Bc>
__device__ inline void store_weights(float* W, const float (&w)[kRowsPerThread][Bc / kRowThreads]) {
  const int ty = threadIdx.x / kRowThreads, tx = threadIdx.x % kRowThreads;
#pragma unroll
  for (int i = 0; i < kRowsPerThread; ++i)
#pragma unroll
    for (int j = 0; j < Bc / kRowThreads; ++j)
      W[(ty + kRowThreads * i) * weight_ld<Bc>() + tx + kRowThreads * j] = w[i][j];
}

// An accumulator of kRows x DP in fragments: tile t of the warp's DP / 16 holds columns
// w.n0(DP) + 8 t .. + 7 of rows m0 .. m0 + 15.
template <int DP>
using RowsAcc = float[DP / 16][4];

// acc += W M over the Bc rows of M, by products P, in ascending row order: W is the [kRows]
// [weight_ld<Bc>()] weight tile, M a [Bc][DP + 4] row tile (a B fragment's loads, rows t4 and
// columns g, land in 32 distinct banks).
template <ProductPrecision P, int DP, int Bc>
__device__ inline void accumulate_tile(const float* W, const float* M, RowsAcc<DP>& acc) {
  using Entry = typename Staged<P>::Entry;
  const WarpTile w;
  const int n0 = w.n0(DP);
  const float* Wr = W + (w.m0 + w.g) * weight_ld<Bc>() + w.t4;
#pragma unroll
  for (int k = 0; k < Bc; k += 8) {
    const Entry x[4] = {Staged<P>::of(Wr[k]), Staged<P>::of(Wr[8 * weight_ld<Bc>() + k]), Staged<P>::of(Wr[k + 4]),
                        Staged<P>::of(Wr[8 * weight_ld<Bc>() + k + 4])};
    const float* Mr = M + (k + w.t4) * row_stride<DP>() + n0 + w.g;
#pragma unroll
    for (int t = 0; t < DP / 16; ++t) {
      const Entry y[2] = {Staged<P>::of(Mr[8 * t]), Staged<P>::of(Mr[4 * row_stride<DP>() + 8 * t])};
      mma_step<P>(acc[t], x, y);
    }
  }
}

// The accumulator's row r (of the block's kRows) of fragment entry c: row g, or g + 8 for c >= 2.
__device__ inline int acc_row(const WarpTile& w, int c) { return w.m0 + w.g + (c >> 1) * 8; }

// Writes an accumulator's rows, row r times factor(r), to dst (row r at dst + r * dst_stride): the
// first `valid` rows and D columns only.
template <int DP, typename Factor>
__device__ inline void write_rows(const RowsAcc<DP>& acc, Factor factor, float* dst, int64_t dst_stride, int64_t valid,
                                  int64_t D) {
  const WarpTile w;
  const int n0 = w.n0(DP);
#pragma unroll
  for (int t = 0; t < DP / 16; ++t)
#pragma unroll
    for (int c = 0; c < 4; ++c) {
      const int r = acc_row(w, c), col = n0 + 8 * t + 2 * w.t4 + (c & 1);
      if (r < valid && col < D) dst[r * dst_stride + col] = acc[t][c] * factor(r);
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
