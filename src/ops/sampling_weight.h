#pragma once
// The arithmetic of a sampled draw, one definition for the CPU sampler (generate/sampler.h) and the
// GPU's (ops/sampling.h), so both draw the same token from the same logits and random bits.
//
// The weight a token gets when sampling at a temperature: exp((logit - top) / temperature), top
// being the row's largest logit, as an integer in units of 2^-40 of the top token's weight:
//   - the exponential is our own, fma-only, rather than the C library's or CUDA's exp, whose last
//     bits differ; every multiply-add is an explicit fma, so no compiler contracts it differently;
//   - weights are integers, so a row's total is exact in any order: the GPU sums in parallel, the
//     CPU in index order, and both get the same total.
// A weight below 2^-40 of the top one is 0: such a token has less than 1e-12 of the top token's
// probability, and is never drawn.
#include <cmath>
#include <cstdint>
#include <cstring>

#include "ops/host_device.h"

namespace s0::ops {

// Rows of up to this many tokens sum their weights (each at most 2^40) without overflowing 63 bits.
inline constexpr int64_t kMaxSampledVocab = int64_t{1} << 22;

S0_HOST_DEVICE inline uint64_t sampling_weight(float logit, float top, double temperature) {
  const double x = (static_cast<double>(logit) - static_cast<double>(top)) / temperature;  // <= 0
  // exp(-28) * 2^40 < 1: the weight is 0 (also for NaN).
  if (!(x > -28.0)) return 0;
  // exp(x) = 2^k exp(r) with k = round(x / ln 2), |r| <= ln(2) / 2 (ln 2 split in two parts so that
  // k * ln2_hi is exact), exp(r) by its Taylor polynomial to r^13 (error below 1e-16).
  const double k = rint(x * 0x1.71547652b82fep+0);
  double r = fma(-k, 6.93147180369123816490e-01, x);
  r = fma(-k, 1.90821492927058770002e-10, r);
  double p = 0x1.6124613a86d09p-33;  // 1/13!
  p = fma(p, r, 0x1.1eed8eff8d898p-29);
  p = fma(p, r, 0x1.ae64567f544e4p-26);
  p = fma(p, r, 0x1.27e4fb7789f5cp-22);
  p = fma(p, r, 0x1.71de3a556c734p-19);
  p = fma(p, r, 0x1.a01a01a01a01ap-16);
  p = fma(p, r, 0x1.a01a01a01a01ap-13);
  p = fma(p, r, 0x1.6c16c16c16c17p-10);
  p = fma(p, r, 0x1.1111111111111p-7);
  p = fma(p, r, 0x1.5555555555555p-5);
  p = fma(p, r, 0x1.5555555555555p-3);
  p = fma(p, r, 0.5);
  p = fma(p, r, 1.0);
  p = fma(p, r, 1.0);
  return static_cast<uint64_t>(ldexp(p, static_cast<int>(k) + 40));  // truncated: exact scaling, then the integer part
}

// The weight a nucleus reaches: the shortest most likely prefix whose weight is at least this
// (compared as doubles) is kept.
S0_HOST_DEVICE inline double nucleus_reach(double top_p, uint64_t total) { return top_p * static_cast<double>(total); }

// A logit's bits as an unsigned integer that orders as the logits do (-0 as +0: the two compare
// equal; NaN past +inf): the sampler's order of tokens, most likely first, is by ~ascending_bits,
// then by id, on the host and on the GPU alike.
S0_HOST_DEVICE inline uint32_t ascending_bits(float logit) {
  const float x = logit + 0.0f;
#ifdef __CUDA_ARCH__
  const uint32_t bits = __float_as_uint(x);
#else
  uint32_t bits;
  std::memcpy(&bits, &x, sizeof bits);
#endif
  return bits & 0x80000000u ? ~bits : bits | 0x80000000u;
}

// A uniform integer in [0, bound) from 64 random bits, the same on every platform.
S0_HOST_DEVICE inline uint64_t uniform_below(uint64_t random, uint64_t bound) {
#ifdef __CUDA_ARCH__
  return __umul64hi(random, bound);
#else
  return static_cast<uint64_t>((static_cast<unsigned __int128>(random) * bound) >> 64);
#endif
}

}  // namespace s0::ops
