#pragma once
// The gated delta rule of GatedDeltaNet, per value head h with state S[dk, dv]:
//   S <- exp(g_t) S;  S <- S + k_t (beta_t (v_t - S^T k_t))^T;  o_t = S^T q_t
// Inputs are already prepared by the mixer: q and k L2-normalised and expanded to the value heads,
// q scaled by dk^-1/2, g the log decay (-exp(A_log) softplus(a + dt_bias)), beta = sigmoid(b).
#include <cstdint>

namespace s0::ops {

struct GatedDeltaDims {
  int64_t T, H, dk, dv;
};

// q, k[T, H, dk], v[T, H, dv], g and beta[T, H], s0[H, dk, dv] or null (zeros).
// o[T, H, dv]; s_final[H, dk, dv] or null.
// Token by token: the oracle the chunked form is tested against.
void gated_delta_reference(const GatedDeltaDims& d, const float* q, const float* k, const float* v, const float* g,
                           const float* beta, const float* s0, float* o, float* s_final);

// The same result computed in chunks of `chunk` tokens with matrix products (the production path).
void gated_delta_chunked(const GatedDeltaDims& d, const float* q, const float* k, const float* v, const float* g,
                         const float* beta, const float* s0, float* o, float* s_final, int64_t chunk = 64);

}  // namespace s0::ops
