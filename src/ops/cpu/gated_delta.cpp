#include "ops/cpu/gated_delta.h"

#include <cmath>
#include <cstring>
#include <vector>

namespace s0::ops {

void gated_delta_reference(const GatedDeltaDims& d, const float* q, const float* k, const float* v, const float* g,
                           const float* beta, const float* s0, float* o, float* s_final) {
  const int64_t T = d.T, H = d.H, dk = d.dk, dv = d.dv;
#pragma omp parallel for schedule(static)
  for (int64_t h = 0; h < H; ++h) {
    std::vector<float> S(static_cast<size_t>(dk * dv), 0.0f), delta(static_cast<size_t>(dv));
    if (s0) std::memcpy(S.data(), s0 + h * dk * dv, sizeof(float) * dk * dv);
    for (int64_t t = 0; t < T; ++t) {
      const float* qt = q + (t * H + h) * dk;
      const float* kt = k + (t * H + h) * dk;
      const float* vt = v + (t * H + h) * dv;
      const float decay = std::exp(g[t * H + h]);
      const float b = beta[t * H + h];
      for (auto& s : S) s *= decay;
      for (int64_t j = 0; j < dv; ++j) delta[j] = vt[j];
      for (int64_t i = 0; i < dk; ++i)
        for (int64_t j = 0; j < dv; ++j) delta[j] -= S[i * dv + j] * kt[i];
      for (int64_t j = 0; j < dv; ++j) delta[j] *= b;
      for (int64_t i = 0; i < dk; ++i)
        for (int64_t j = 0; j < dv; ++j) S[i * dv + j] += kt[i] * delta[j];
      float* ot = o + (t * H + h) * dv;
      for (int64_t j = 0; j < dv; ++j) ot[j] = 0.0f;
      for (int64_t i = 0; i < dk; ++i)
        for (int64_t j = 0; j < dv; ++j) ot[j] += S[i * dv + j] * qt[i];
    }
    if (s_final) std::memcpy(s_final + h * dk * dv, S.data(), sizeof(float) * dk * dv);
  }
}

void gated_delta_chunked(const GatedDeltaDims& d, const float* q, const float* k, const float* v, const float* g,
                         const float* beta, const float* s0, float* o, float* s_final, int64_t chunk) {
  // Until the chunked kernel lands, the production path is the exact token-by-token form.
  (void)chunk;
  gated_delta_reference(d, q, k, v, g, beta, s0, o, s_final);
}

}  // namespace s0::ops
