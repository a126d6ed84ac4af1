#pragma once
// A small matrix product computed by one whole block on the tensor cores, for the chunked
// recurrences' chunk products (the gated delta rule, gated_delta.cu, and SSD, ssd.cu): operands of
// a few dozen to a few hundred rows that sit in shared memory or in strided rows of global tensors,
// read through functors, so that transposes, row scalings and masks cost no copies.
//
// mma.sync m16n8k8 multiplies TF32 (10-bit mantissas) with f32 sums; to stay at f32's accuracy,
// which the CPU comparisons and the f32 exactness mode measure, every operand is split as x = hi +
// lo (hi its TF32 rounding, lo the TF32 rounding of the rest) and a b is taken as hi hi + hi lo +
// lo hi ("3xTF32": only lo lo, about 2^-22 of |a b|, is dropped). The tensor cores add their
// partial sums truncating, so each k step of 8 multiplies into zeros and is added to the result
// with an ordinary f32 add (rounded to nearest), in ascending k: the same bits every run. With
// ProductPrecision::tf32 (the bf16 mode's, ops/product_precision.h) a b is hi hi alone, summed by the
// tensor cores straight into the result: a third of the products and none of the adds (the same
// bits every run too: the order of the k steps is fixed).
//
// For blocks of kMmaThreads (8 warps). The result is cut into block tiles of 128 x 64, 64 x 128 or
// 64 x 64 (the caller's choice), each made of 16 x 32 warp tiles, two or one per warp; for each block tile
// the shared dimension is staged kStageK at a time into shared memory (read from global memory
// along whichever index the caller says is contiguous, so that a warp's loads coalesce), two slabs
// deep: a thread fetches its share of the next slab into registers before the tensor cores work on
// the present one, so the loads' latency hides behind the products and one barrier serves each
// slab. Each entry is split into hi and lo once, by the thread that stages it, and kept as the
// pair (TF32 products keep hi alone): the warps that read it as a fragment (all of a block tile's
// rows or columns) then only load. The tile shapes are compile-time so that a thread's staging addresses are a base plus
// constants.
#include <cstdint>

#include "ops/product_precision.h"

namespace s0::ops::cuda {

// Which entries A(m, k) may be non-zero: all; only k <= m (lower triangular); only k >= m (upper).
// A banded product skips the zero part; it must really be zero.
enum class Band { full, lower, upper };

// Which index of an operand functor walks memory contiguously: k, or the other one (m of A, n of B).
enum class Along { k, mn };

constexpr int kStageK = 16;  // k per staged slab
constexpr int kMmaThreads = 256;
constexpr int kMmaWarps = kMmaThreads / 32;

__device__ __forceinline__ uint32_t to_tf32(float x) {
  uint32_t t;
  asm("cvt.rna.tf32.f32 %0, %1;" : "=r"(t) : "f"(x));
  return t;
}

// How a staged operand entry is kept for products P, and the entries per row of a slab for a block
// tile `width` (a multiple of 32) wide: the width plus a skew that puts consecutive rows 8 banks
// apart, so that a fragment's loads (lanes (g, t4): row t4 at column g, g < 8) land in 32 distinct
// banks.
template <ProductPrecision P>
struct Staged;

// 3xTF32: the pair of 8 bytes (hi, lo), x's TF32 rounding and that of what it leaves (4 entries of
// skew: 8 words).
template <>
struct Staged<ProductPrecision::f32> {
  using Entry = uint2;
  static constexpr int width(int w) { return w + 4; }
  __device__ static Entry of(float x) {
    const uint32_t hi = to_tf32(x);
    return {hi, to_tf32(x - __uint_as_float(hi))};
  }
  __device__ static uint32_t hi(Entry e) { return e.x; }
  __device__ static uint32_t lo(Entry e) { return e.y; }
};

// TF32: hi alone, 4 bytes (8 entries of skew): half the shared memory read per fragment.
template <>
struct Staged<ProductPrecision::tf32> {
  using Entry = uint32_t;
  static constexpr int width(int w) { return w + 8; }
  __device__ static Entry of(float x) { return to_tf32(x); }
  __device__ static uint32_t hi(Entry e) { return e; }
};

// Floats of one staged slab (either block tile shape: 128 + 64 columns, of the larger entries), and
// the shared floats block_mma needs for any product (two slabs).
constexpr int kMmaSlabFloats = 2 * kStageK * (Staged<ProductPrecision::f32>::width(128) +
                                              Staged<ProductPrecision::f32>::width(64));
constexpr int64_t kMmaStageFloats = 2 * kMmaSlabFloats;

// d += a b for a 16 x 8 tile of A (row major fragments) and an 8 x 8 tile of B (column major).
__device__ __forceinline__ void mma_tf32(float (&d)[4], const uint32_t (&a)[4], const uint32_t (&b)[2]) {
  asm volatile(
      "mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
}

// d += a b for one 16 x 8 x 8 step of products P, from the entries of an A fragment (a0..a3: rows
// g, g + 8 at column t4, then at t4 + 4) and of a B fragment (b0, b1: rows t4, t4 + 4 at column g):
// TF32 straight into d; 3xTF32 into zeros, then added to d in f32 (the tensor cores' own sums
// truncate).
template <ProductPrecision P>
__device__ __forceinline__ void mma_step(float (&d)[4], const typename Staged<P>::Entry (&x)[4],
                                         const typename Staged<P>::Entry (&y)[2]) {
  using S = Staged<P>;
  const uint32_t a_hi[4] = {S::hi(x[0]), S::hi(x[1]), S::hi(x[2]), S::hi(x[3])};
  const uint32_t b_hi[2] = {S::hi(y[0]), S::hi(y[1])};
  if constexpr (P == ProductPrecision::tf32) {
    mma_tf32(d, a_hi, b_hi);
  } else {
    const uint32_t a_lo[4] = {S::lo(x[0]), S::lo(x[1]), S::lo(x[2]), S::lo(x[3])};
    const uint32_t b_lo[2] = {S::lo(y[0]), S::lo(y[1])};
    float e[4] = {0.0f, 0.0f, 0.0f, 0.0f};
    mma_tf32(e, a_lo, b_hi);
    mma_tf32(e, a_hi, b_lo);
    mma_tf32(e, a_hi, b_hi);
#pragma unroll
    for (int c = 0; c < 4; ++c) d[c] += e[c];
  }
}

// A thread's share of one operand's staged slab, kStageK x W (W a block tile's side, the operand's
// m or n): which entries it fetches and where they go. Along k, 16 threads walk k for one m; along
// m (or n), W threads walk m for one k.
template <int W, Along along>
struct SlabShare {
  static constexpr int kCount = kStageK * W / kMmaThreads;
  static_assert(kMmaThreads % W == 0 && kMmaThreads % kStageK == 0, "a slab shared evenly");
  // Entry r's m (or n) and k.
  __device__ static int mn(int tid, int r) {
    return along == Along::k ? tid / kStageK + r * (kMmaThreads / kStageK) : tid % W;
  }
  __device__ static int k(int tid, int r) {
    return along == Along::k ? tid % kStageK : tid / W + r * (kMmaThreads / W);
  }
  // carry[r] = at(mn, k) within mn < limit, k < kn, else 0.
  template <class At>
  __device__ static void fetch(int tid, float (&carry)[kCount], int limit, int kn, At at) {
#pragma unroll
    for (int r = 0; r < kCount; ++r) carry[r] = mn(tid, r) < limit && k(tid, r) < kn ? at(mn(tid, r), k(tid, r)) : 0.0f;
  }
  // Into the slab of entries laid out [k][Staged<P>::width(W)].
  template <ProductPrecision P>
  __device__ static void put(int tid, const float (&carry)[kCount], typename Staged<P>::Entry* slab) {
#pragma unroll
    for (int r = 0; r < kCount; ++r) slab[k(tid, r) * Staged<P>::width(W) + mn(tid, r)] = Staged<P>::of(carry[r]);
  }
};

// One block tile shape, TM x TN: block_mma below.
template <ProductPrecision P, int TM, int TN, Band band, Along a_along, Along b_along, class AOp, class BOp,
          class Epilogue>
__device__ __forceinline__ void block_mma_tiles(int M, int N, int K, AOp a, BOp b, Epilogue epilogue,
                                                float* stage) {
  using AShare = SlabShare<TM, a_along>;
  using BShare = SlabShare<TN, b_along>;
  using Slab = Staged<P>;
  using Entry = typename Slab::Entry;
  constexpr int wa = Slab::width(TM), wb = Slab::width(TN), tiles_n = TN / 32;
  constexpr int warp_tiles = TM / 16 * tiles_n / kMmaWarps;  // 16 x 32 result tiles a warp holds
  static_assert(warp_tiles >= 1 && TM / 16 * tiles_n == kMmaWarps * warp_tiles, "a warp tile for each warp and slot");
  static_assert(kStageK * (wa + wb) * sizeof(Entry) <= kMmaSlabFloats * sizeof(float), "the slab fits its buffer");
  // The thread's index, read where it is used: the staging arithmetic that hangs on it is then
  // not hoisted out of the caller's loops, where it would hold registers across every product.
  int tid;
  asm volatile("mov.u32 %0, %%tid.x;" : "=r"(tid));
  const int warp = tid / 32, g = tid % 32 / 4, t4 = tid % 4;
  static_assert(kMmaWarps % tiles_n == 0, "a warp's tiles share their columns");
  const int n0 = warp % tiles_n * 32;  // the columns of every warp tile of this warp
  for (int mb = 0; mb < M; mb += TM) {
    for (int nb = 0; nb < N; nb += TN) {
      const int bm = min(TM, M - mb), bn = min(TN, N - nb);
      // The band's k for this block tile's rows.
      const int k_begin = band == Band::upper ? min(mb, K) : 0;
      const int k_end = band == Band::lower ? min(K, mb + bm) : K;
      float a_carry[AShare::kCount], b_carry[BShare::kCount];
      auto fetch = [&](int k0) {
        const int kn = min(kStageK, k_end - k0);
        AShare::fetch(tid, a_carry, bm, kn, [&](int m, int k) { return a(mb + m, k0 + k); });
        BShare::fetch(tid, b_carry, bn, kn, [&](int n, int k) { return b(k0 + k, nb + n); });
      };
      float acc[warp_tiles][4][4] = {};
      __syncthreads();  // the caller's writes are visible; the last block tile's slabs are read
      if (k_begin < k_end) fetch(k_begin);
      for (int k0 = k_begin, buffer = 0; k0 < k_end; k0 += kStageK, buffer ^= 1) {
        // [kStageK][wa] entries: As[k][m] = a(mb + m, k0 + k); [kStageK][wb]: Bs[k][n] = b(k0 + k, nb + n).
        Entry* As = reinterpret_cast<Entry*>(stage + buffer * kMmaSlabFloats);
        Entry* Bs = As + kStageK * wa;
        AShare::template put<P>(tid, a_carry, As);
        BShare::template put<P>(tid, b_carry, Bs);
        __syncthreads();  // this slab is staged; every warp is done with the slab before the last
        if (k0 + kStageK < k_end) fetch(k0 + kStageK);
        const int steps = (min(kStageK, k_end - k0) + 7) / 8;
#pragma unroll
        for (int s = 0; s < kStageK / 8; ++s) {
          if (s >= steps) break;
          const int kg = k0 + s * 8;
#pragma unroll
          for (int p = 0; p < warp_tiles; ++p) {
            const int m0 = (warp + p * kMmaWarps) / tiles_n * 16;
            if (m0 >= bm || n0 >= bn) continue;
            if (band == Band::lower && kg > mb + m0 + 15) continue;
            if (band == Band::upper && kg + 7 < mb + m0) continue;
            const Entry* Ak = As + (s * 8 + t4) * wa + m0 + g;
            const Entry x[4] = {Ak[0], Ak[8], Ak[4 * wa], Ak[4 * wa + 8]};
#pragma unroll
            for (int j = 0; j < 4; ++j) {
              if (n0 + j * 8 >= bn) continue;
              const Entry* Bk = Bs + (s * 8 + t4) * wb + n0 + j * 8 + g;
              const Entry y[2] = {Bk[0], Bk[4 * wb]};
              mma_step<P>(acc[p][j], x, y);
            }
          }
        }
      }
      // Fragment entry c of tile (p, j): row g (+8 for c >= 2), column 2 t4 (+1 for odd c).
#pragma unroll
      for (int p = 0; p < warp_tiles; ++p) {
        const int m0 = (warp + p * kMmaWarps) / tiles_n * 16;
#pragma unroll
        for (int j = 0; j < 4; ++j)
#pragma unroll
          for (int c = 0; c < 4; ++c) {
            const int m = m0 + g + (c >> 1) * 8, n = n0 + j * 8 + t4 * 2 + (c & 1);
            if (m < bm && n < bn) epilogue(mb + m, nb + n, acc[p][j][c]);
          }
      }
    }
  }
}

// For every m < M, n < N: epilogue(m, n, sum over k < K of a(m, k) * b(k, n)), by products P
// (every sum over k in ascending order: the same bits every run, whatever else the GPU is doing).
// Called by all kMmaThreads threads of the block, with `stage` holding kMmaStageFloats floats
// (16-byte aligned), in block tiles of the given shape (any takes any M and N; `tall` suits N <= 64,
// `wide` N > 64, `square` M and N <= 64, where a tall tile would stage rows of zeros and hold
// registers for them). Each block tile begins with a barrier, so the operands may be what the block
// wrote just before the call, and an epilogue may update what an earlier product's epilogue wrote,
// whichever thread wrote it; the call ends without one: results read by other threads need the
// caller's barrier (or the next block_mma's). An epilogue must not write an operand of its own
// product. a is called only with m < M, b with n < N, both with k < K.
enum class Tiles { tall, wide, square };

template <ProductPrecision P, Band band, Along a_along, Along b_along, Tiles tiles = Tiles::tall, class AOp, class BOp,
          class Epilogue>
__device__ __forceinline__ void block_mma(int M, int N, int K, AOp a, BOp b, Epilogue epilogue, float* stage) {
  constexpr int tm = tiles == Tiles::tall ? 128 : 64, tn = tiles == Tiles::wide ? 128 : 64;
  block_mma_tiles<P, tm, tn, band, a_along, b_along>(M, N, K, a, b, epilogue, stage);
}

}  // namespace s0::ops::cuda
