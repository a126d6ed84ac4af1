#pragma once
// The decay factors of one chunk of a gated recurrence, shared by the chunked gated delta rule and
// SSD. With gamma_i the cumulative log decay through token i of the chunk (summed in double, so
// differences of long sums stay exact), every factor is exp of a non-positive number when the
// per-token log decays are <= 0: nothing overflows however strongly the state decays. The
// gradients of the log decays from those of the factors: ops/log_decay_grad.h.
#include <bit>
#include <cmath>
#include <cstdint>
#include <vector>

#include "ops/log_decay_grad.h"

namespace s0::ops::cpu {

struct ChunkDecay {
  static constexpr int64_t kMaxChunk = 512;  // bounds the stack buffer of cumulative sums

  explicit ChunkDecay(int64_t capacity) : cap(capacity), in(cap), out(cap), mask(cap * cap) {}

  // log_decay(i) is token i's log decay, i in [0, n), n <= cap.
  template <typename LogDecay>
  void compute(int64_t n, LogDecay&& log_decay) {
    double gamma[kMaxChunk];
    double run = 0.0;
    for (int64_t i = 0; i < n; ++i) gamma[i] = run += log_decay(i);
    all = factor(static_cast<float>(run));
    for (int64_t i = 0; i < n; ++i) {
      in[i] = factor(static_cast<float>(gamma[i]));
      out[i] = factor(static_cast<float>(run - gamma[i]));
      float* row = mask.data() + i * cap;
      for (int64_t j = 0; j <= i; ++j) row[j] = factor(static_cast<float>(gamma[i] - gamma[j]));
      for (int64_t j = i + 1; j < n; ++j) row[j] = 0.0f;
    }
  }

  // exp(x) for x <= 0 (correct up to x = 88), flushed to zero below float's normal range (under
  // about e^-87.7): a factor that small is lost against any O(1) term, and denormals would slow
  // every product after. Cephes' expf polynomial (within 2 ulp), written so that the mask loop
  // vectorises, which glibc's expf does not.
  static float factor(float x) {
    // Clamp at -127 ln 2, where the exponent bits below come out 0 and so the result 0.0f. The clamp
    // works on the bits: GCC keeps FP traps by default and then vectorises no float select of a
    // computed value (nor std::max). As unsigned integers, floats order by magnitude within a sign,
    // and every positive one sits below every negative one.
    constexpr uint32_t kLowest = std::bit_cast<uint32_t>(-88.0296919f);
    const uint32_t bits = std::bit_cast<uint32_t>(x);
    const float clamped = std::bit_cast<float>(bits < kLowest ? bits : kLowest);
    // n = round(x / ln 2) by the 1.5 * 2^23 trick: adding it leaves no fraction bits to round into.
    const float n = (clamped * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
    const float r = (clamped - n * 0.693359375f) + n * 2.12194440e-4f;  // x - n ln 2, in two steps
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    const float two_to_n = std::bit_cast<float>((static_cast<int32_t>(n) + 127) << 23);  // n >= -127
    return p * two_to_n;
  }

  // Adds row i of the mask terms, d_row[j] for j < i, to spans: spans[m] += sum_{j < m} d_row[j] for
  // m in (0, i]. Called for every row (spans zeroed first), it leaves spans[m] = sum of the terms
  // (i, j) with j < m <= i: each carries exp(gamma_i - gamma_j), and so exp(g_m), as a factor.
  static void add_spans(int64_t i, const float* d_row, float* spans) {
    float run = 0.0f;
    for (int64_t j = 0; j < i; ++j) spans[j + 1] += (run += d_row[j]);
  }

  int64_t cap;             // tokens a chunk may hold
  float all = 1.0f;        // exp(gamma_last): across the whole chunk
  std::vector<float> in;   // exp(gamma_i): from the chunk start through token i
  std::vector<float> out;  // exp(gamma_last - gamma_i): after token i to the chunk end
  std::vector<float> mask; // [cap, cap] exp(gamma_i - gamma_j) for j <= i, 0 above the diagonal
};

}  // namespace s0::ops::cpu
