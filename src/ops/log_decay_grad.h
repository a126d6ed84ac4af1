#pragma once
// The gradients of a chunk's per-token log decays from those of its decay factors
// (cpu/chunk_decay.h), one function for the CPU's chunked recurrences and the CUDA gated delta rule:
// both sum the same terms in the same order.
#include <cstdint>

#include "ops/host_device.h"

namespace s0::ops {

// The gradients of the per-token log decays g_m, m in [0, n), from those of the chunk's factors,
// passed split by the factor they come through:
//   all_term      through exp(gamma_last),
//   in_terms[i]   through exp(gamma_i),
//   out_terms[i]  through exp(gamma_last - gamma_i), i < n - 1 (the last token's is exp(0)),
//   spans[m]      through the mask: the sum of its terms (i, j) with j < m <= i
//                 (ChunkDecay::add_spans).
// g_m enters exactly the factors whose exponent spans token m, so
//   dg_m = all_term + sum_{i >= m} in_i + sum_{i < m} out_i + spans[m],
// and every term of that sum carries the factor exp(g_m). Summing only these keeps dg_m accurate
// relative to its own size however strongly token m decays; the shorter route, dgamma_i summed
// from the end (each mask term added at i and taken away at j), cancels terms of size O(1) and
// leaves an O(1e-7) error on a dg_m that may be 1e-40. dg[m * stride] is written; with stride 1,
// dg may be in_terms itself (each is read before it is overwritten), not out_terms or spans.
S0_HOST_DEVICE inline void log_decay_grad(int64_t n, float all_term, const float* in_terms, const float* out_terms,
                                          const float* spans, float* dg, int64_t stride) {
  float run_in = 0.0f;
  for (int64_t m = n - 1; m >= 0; --m) dg[m * stride] = (run_in += in_terms[m]);
  float run_out = 0.0f;
  for (int64_t m = 0; m < n; ++m) {
    dg[m * stride] += all_term + run_out + spans[m];
    run_out += out_terms[m];
  }
}

}  // namespace s0::ops
