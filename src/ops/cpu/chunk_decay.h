#pragma once
// The decay factors of one chunk of a gated recurrence, shared by the chunked gated delta rule and
// SSD. With gamma_i the cumulative log decay through token i of the chunk (summed in double, so
// differences of long sums stay exact), every factor is exp of a non-positive number when the
// per-token log decays are <= 0: nothing overflows however strongly the state decays.
#include <cmath>
#include <cstdint>
#include <vector>

namespace s0::ops {

struct ChunkDecay {
  static constexpr int64_t kMaxChunk = 512;  // bounds the stack buffer of cumulative sums

  explicit ChunkDecay(int64_t capacity) : cap(capacity), in(cap), out(cap), mask(cap * cap) {}

  // log_decay(i) is token i's log decay, i in [0, n), n <= cap.
  template <typename LogDecay>
  void compute(int64_t n, LogDecay&& log_decay) {
    double gamma[kMaxChunk];
    double run = 0.0;
    for (int64_t i = 0; i < n; ++i) gamma[i] = run += log_decay(i);
    all = factor(run);
    for (int64_t i = 0; i < n; ++i) {
      in[i] = factor(gamma[i]);
      out[i] = factor(run - gamma[i]);
      for (int64_t j = 0; j < n; ++j) mask[i * cap + j] = j <= i ? factor(gamma[i] - gamma[j]) : 0.0f;
    }
  }

  // exp(log_decay) for log_decay <= 0, flushed to zero below float's normal range (e^-87): a
  // factor that small is lost against any O(1) term, and denormals would slow every product after.
  static float factor(double log_decay) {
    return log_decay < -87.0 ? 0.0f : std::exp(static_cast<float>(log_decay));
  }

  int64_t cap;             // tokens a chunk may hold
  float all = 1.0f;        // exp(gamma_last): across the whole chunk
  std::vector<float> in;   // exp(gamma_i): from the chunk start through token i
  std::vector<float> out;  // exp(gamma_last - gamma_i): after token i to the chunk end
  std::vector<float> mask; // [cap, cap] exp(gamma_i - gamma_j) for j <= i, 0 above the diagonal
};

}  // namespace s0::ops
