#include "ops/cpu/rowwise_bf16.h"

#include <immintrin.h>

#include <algorithm>
#include <cstring>

#include "core/error.h"
#include "ops/cpu/rowwise_amx.h"
#include "ops/cpu/rowwise_tiles.h"

namespace s0::ops::cpu {

namespace {

constexpr int kLanes = 16;       // float32 accumulators per dot product
constexpr int kStep = 2 * kLanes;  // bf16 elements per accumulation step

// The lanes' fixed pairwise sum.
float sum_lanes(float* lane) {
  for (int width = kLanes / 2; width > 0; width /= 2)
    for (int l = 0; l < width; ++l) lane[l] += lane[l + width];
  return lane[0];
}

// One step of 32 elements for the portable kernel: 8 dwords hold pairs (even element low, odd high).
struct Portable {
  using Acc = __m256[2];
  static __m256 odd(__m256i v) { return _mm256_castsi256_ps(_mm256_and_si256(v, _mm256_set1_epi32(-65536))); }
  static __m256 even(__m256i v) { return _mm256_castsi256_ps(_mm256_slli_epi32(v, 16)); }
  static void step(__m256& acc, __m256i x, __m256i w) {
    acc = _mm256_fmadd_ps(odd(x), odd(w), acc);
    acc = _mm256_fmadd_ps(even(x), even(w), acc);
  }
};

// out[r * C + c] = dot(x row r, w row c) for an R x C tile (rows `in` apart), portable kernel.
template <int R, int C>
void tile_portable(const uint16_t* x, const uint16_t* w, int64_t in, float* out) {
  __m256 acc[R][C][2];
  for (int r = 0; r < R; ++r)
    for (int c = 0; c < C; ++c) acc[r][c][0] = acc[r][c][1] = _mm256_setzero_ps();
  auto step = [&](const uint16_t* const* xs, const uint16_t* const* ws) {
    __m256i wv[C][2];
    for (int c = 0; c < C; ++c)
      for (int h = 0; h < 2; ++h) wv[c][h] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(ws[c] + 16 * h));
    for (int r = 0; r < R; ++r)
      for (int h = 0; h < 2; ++h) {
        const __m256i xv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xs[r] + 16 * h));
        for (int c = 0; c < C; ++c) Portable::step(acc[r][c][h], xv, wv[c][h]);
      }
  };
  int64_t k = 0;
  const uint16_t* xs[R];
  const uint16_t* ws[C];
  for (; k + kStep <= in; k += kStep) {
    for (int r = 0; r < R; ++r) xs[r] = x + r * in + k;
    for (int c = 0; c < C; ++c) ws[c] = w + c * in + k;
    step(xs, ws);
  }
  if (k < in) {  // the zero-padded tail
    uint16_t xt[R][kStep] = {}, wt[C][kStep] = {};
    for (int r = 0; r < R; ++r) std::memcpy(xt[r], x + r * in + k, (in - k) * sizeof(uint16_t)), xs[r] = xt[r];
    for (int c = 0; c < C; ++c) std::memcpy(wt[c], w + c * in + k, (in - k) * sizeof(uint16_t)), ws[c] = wt[c];
    step(xs, ws);
  }
  for (int r = 0; r < R; ++r)
    for (int c = 0; c < C; ++c) {
      float lane[kLanes];
      _mm256_storeu_ps(lane, acc[r][c][0]);
      _mm256_storeu_ps(lane + 8, acc[r][c][1]);
      out[r * C + c] = sum_lanes(lane);
    }
}

#define S0_AVX512_BF16 __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16")))

template <int R, int C>
S0_AVX512_BF16 void tile_avx512(const uint16_t* x, const uint16_t* w, int64_t in, float* out) {
  __m512 acc[R][C];
  for (int r = 0; r < R; ++r)
    for (int c = 0; c < C; ++c) acc[r][c] = _mm512_setzero_ps();
  for (int64_t k = 0; k < in; k += kStep) {
    // A full step loads 32 elements; the tail loads what is left, zeros beyond.
    const __mmask32 mask = in - k >= kStep ? ~__mmask32{0} : (__mmask32{1} << (in - k)) - 1;
    __m512i wv[C];
    for (int c = 0; c < C; ++c) wv[c] = _mm512_maskz_loadu_epi16(mask, w + c * in + k);
    for (int r = 0; r < R; ++r) {
      const __m512i xv = _mm512_maskz_loadu_epi16(mask, x + r * in + k);
      for (int c = 0; c < C; ++c) acc[r][c] = _mm512_dpbf16_ps(acc[r][c], (__m512bh)xv, (__m512bh)wv[c]);
    }
  }
  for (int r = 0; r < R; ++r)
    for (int c = 0; c < C; ++c) {
      float lane[kLanes];
      _mm512_storeu_ps(lane, acc[r][c]);
      out[r * C + c] = sum_lanes(lane);
    }
}

constexpr int kRows = 4, kCols = 3;

// A tile of `rows` x `cols` (at most kRows x kCols) with the kernel `K`: full tiles where they fit,
// else one row or one dot product at a time (the arithmetic per element is the same in every shape).
template <template <int, int> class K>
void any_tile(const uint16_t* x, const uint16_t* w, int64_t in, int rows, int cols, float* d) {
  if (rows == kRows && cols == kCols) return K<kRows, kCols>::run(x, w, in, d);
  for (int r = 0; r < rows; ++r) {
    if (cols == kCols) K<1, kCols>::run(x + r * in, w, in, d + r * kCols);
    else
      for (int c = 0; c < cols; ++c) K<1, 1>::run(x + r * in, w + c * in, in, d + r * kCols + c);
  }
}
template <int R, int C>
struct PortableTile {
  static void run(const uint16_t* x, const uint16_t* w, int64_t in, float* d) { tile_portable<R, C>(x, w, in, d); }
};
template <int R, int C>
struct Avx512Tile {
  static void run(const uint16_t* x, const uint16_t* w, int64_t in, float* d) { tile_avx512<R, C>(x, w, in, d); }
};

// x's parts (one, or a precise layer's high and low) through the kernel K.
template <template <int, int> class K>
void rowwise(const uint16_t* const* parts, int n_parts, int64_t m, const uint16_t* w, const float* bias, int64_t in,
             int64_t out, float* y, bool add) {
  auto tiles = [&](int part, int64_t i0, int rows, int64_t j0, int cols, float* d) {
    any_tile<K>(parts[part] + i0 * in, w + j0 * in, in, rows, cols, d);
  };
  rowwise_tiles<float, kRows, kCols>(m, in, out, bias, y, add, n_parts, tiles);
}

void rowwise_parts(const uint16_t* const* parts, int n_parts, int64_t m, const uint16_t* w, const float* bias,
                   int64_t in, int64_t out, float* y, bool add, Bf16DotKernel kernel) {
  if (kernel == Bf16DotKernel::Amx) {
    if (!cpu_has_amx_bf16()) fail("internal: the AMX kernel asked for on a CPU without it");
    return rowwise_amx_linear(parts, n_parts, m, w, bias, in, out, y, add);
  }
  if (kernel == Bf16DotKernel::Avx512Bf16) {
    if (!cpu_has_avx512_bf16()) fail("internal: the AVX-512 BF16 kernel asked for on a CPU without it");
    return rowwise<Avx512Tile>(parts, n_parts, m, w, bias, in, out, y, add);
  }
  rowwise<PortableTile>(parts, n_parts, m, w, bias, in, out, y, add);
}

Bf16DotKernel fastest_kernel() {
  if (cpu_has_amx_bf16()) return Bf16DotKernel::Amx;
  return cpu_has_avx512_bf16() ? Bf16DotKernel::Avx512Bf16 : Bf16DotKernel::Portable;
}

}  // namespace

bool cpu_has_avx512_bf16() {
  static const bool has = __builtin_cpu_supports("avx512bf16") && __builtin_cpu_supports("avx512bw") &&
                          __builtin_cpu_supports("avx512vl");
  return has;
}

void rowwise_bf16_linear(const uint16_t* x, int64_t m, const uint16_t* w, const float* bias, int64_t in, int64_t out,
                         float* y, bool add, Bf16DotKernel kernel) {
  rowwise_parts(&x, 1, m, w, bias, in, out, y, add, kernel);
}

void rowwise_bf16_linear(const uint16_t* x, int64_t m, const uint16_t* w, const float* bias, int64_t in, int64_t out,
                         float* y, bool add) {
  rowwise_parts(&x, 1, m, w, bias, in, out, y, add, fastest_kernel());
}

void rowwise_bf16_linear_split(const uint16_t* high, const uint16_t* low, int64_t m, const uint16_t* w,
                               const float* bias, int64_t in, int64_t out, float* y, bool add) {
  const uint16_t* parts[] = {high, low};
  rowwise_parts(parts, 2, m, w, bias, in, out, y, add, fastest_kernel());
}

}  // namespace s0::ops::cpu
