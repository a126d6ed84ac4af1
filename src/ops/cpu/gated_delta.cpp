// Token-by-token gated delta rule: the oracle forward and backward.
#include "ops/cpu/gated_delta.h"

#include <cmath>
#include <cstring>
#include <vector>

namespace s0::ops::cpu {

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

void gated_delta_reference_backward(const GatedDeltaDims& d, const float* q, const float* k, const float* v,
                                    const float* g, const float* beta, const float* s0, const float* d_o,
                                    const float* d_s_final, float* dq, float* dk, float* dv, float* dg,
                                    float* dbeta, float* ds0) {
  const int64_t T = d.T, H = d.H, Dk = d.dk, Dv = d.dv, state = d.dk * d.dv;
#pragma omp parallel for schedule(static)
  for (int64_t h = 0; h < H; ++h) {
    // states[t] is the state before token t; states[T] the final one.
    std::vector<float> states(static_cast<size_t>((T + 1) * state), 0.0f);
    if (s0) std::memcpy(states.data(), s0 + h * state, sizeof(float) * state);
    std::vector<float> decayed(static_cast<size_t>(state)), kv(static_cast<size_t>(Dv)),
        delta(static_cast<size_t>(Dv)), d_delta(static_cast<size_t>(Dv));
    // One token's forward from states[t]: the decayed state, S'^T k and the delta it writes.
    auto token_forward = [&](int64_t t) {
      const float* kt = k + (t * H + h) * Dk;
      const float* vt = v + (t * H + h) * Dv;
      const float decay = std::exp(g[t * H + h]), b = beta[t * H + h];
      const float* prev = states.data() + t * state;
      for (int64_t e = 0; e < state; ++e) decayed[e] = decay * prev[e];
      for (int64_t j = 0; j < Dv; ++j) kv[j] = 0.0f;
      for (int64_t i = 0; i < Dk; ++i)
        for (int64_t j = 0; j < Dv; ++j) kv[j] += decayed[i * Dv + j] * kt[i];
      for (int64_t j = 0; j < Dv; ++j) delta[j] = b * (vt[j] - kv[j]);
    };
    for (int64_t t = 0; t < T; ++t) {
      token_forward(t);
      const float* kt = k + (t * H + h) * Dk;
      float* next = states.data() + (t + 1) * state;
      for (int64_t i = 0; i < Dk; ++i)
        for (int64_t j = 0; j < Dv; ++j) next[i * Dv + j] = decayed[i * Dv + j] + kt[i] * delta[j];
    }
    // dS holds dLoss/d(state after token t) on entry to step t, dLoss/d(state before it) on exit.
    std::vector<float> dS(static_cast<size_t>(state), 0.0f);
    if (d_s_final) std::memcpy(dS.data(), d_s_final + h * state, sizeof(float) * state);
    for (int64_t t = T - 1; t >= 0; --t) {
      token_forward(t);
      const float* qt = q + (t * H + h) * Dk;
      const float* kt = k + (t * H + h) * Dk;
      const float* vt = v + (t * H + h) * Dv;
      const float* dot = d_o + (t * H + h) * Dv;
      const float* after = states.data() + (t + 1) * state;
      const float decay = std::exp(g[t * H + h]), b = beta[t * H + h];
      float* dqt = dq + (t * H + h) * Dk;
      float* dkt = dk + (t * H + h) * Dk;
      float* dvt = dv + (t * H + h) * Dv;
      // o = S^T q
      for (int64_t i = 0; i < Dk; ++i) {
        float acc = 0.0f;
        for (int64_t j = 0; j < Dv; ++j) acc += after[i * Dv + j] * dot[j];
        dqt[i] = acc;
      }
      for (int64_t i = 0; i < Dk; ++i)
        for (int64_t j = 0; j < Dv; ++j) dS[i * Dv + j] += qt[i] * dot[j];
      // S = S' + k delta^T
      for (int64_t j = 0; j < Dv; ++j) d_delta[j] = 0.0f;
      for (int64_t i = 0; i < Dk; ++i) {
        float acc = 0.0f;
        for (int64_t j = 0; j < Dv; ++j) {
          acc += dS[i * Dv + j] * delta[j];
          d_delta[j] += dS[i * Dv + j] * kt[i];
        }
        dkt[i] = acc;
      }
      // delta = beta (v - S'^T k)
      float d_b = 0.0f;
      for (int64_t j = 0; j < Dv; ++j) {
        d_b += d_delta[j] * (vt[j] - kv[j]);
        dvt[j] = b * d_delta[j];
      }
      dbeta[t * H + h] = d_b;
      for (int64_t i = 0; i < Dk; ++i) {
        float acc = 0.0f;
        for (int64_t j = 0; j < Dv; ++j) {
          acc += decayed[i * Dv + j] * d_delta[j];
          dS[i * Dv + j] -= kt[i] * b * d_delta[j];
        }
        dkt[i] -= b * acc;
      }
      // S' = exp(g) S_prev
      float d_gate = 0.0f;
      for (int64_t e = 0; e < state; ++e) {
        d_gate += dS[e] * decayed[e];
        dS[e] *= decay;
      }
      dg[t * H + h] = d_gate;
    }
    if (ds0) std::memcpy(ds0 + h * state, dS.data(), sizeof(float) * state);
  }
}

}  // namespace s0::ops::cpu
