#pragma once
// The gated delta rule of GatedDeltaNet, per value head h with state S[dk, dv]:
//   S <- exp(g_t) S;  S <- S + k_t (beta_t (v_t - S^T k_t))^T;  o_t = S^T q_t
// Inputs are already prepared by the mixer: q and k L2-normalised and expanded to the value heads,
// q scaled by dk^-1/2, g the log decay (-exp(A_log) softplus(a + dt_bias)), beta = sigmoid(b).
#include <cstdint>

namespace s0::ops::cpu {

struct GatedDeltaDims {
  int64_t T, H, dk, dv;
};

// q, k[T, H, dk], v[T, H, dv], g and beta[T, H], s0[H, dk, dv] or null (zeros).
// o[T, H, dv]; s_final[H, dk, dv] or null.
// Token by token: the oracle the chunked form is tested against.
void gated_delta_reference(const GatedDeltaDims& d, const float* q, const float* k, const float* v, const float* g,
                           const float* beta, const float* s0, float* o, float* s_final);

// The same result computed in chunks of `chunk` tokens (clamped to [1, 512]) with matrix products
// (the production path): the WY / UT-transform form. Scratch: O(chunk * (chunk + dk + dv)) floats
// per thread, kept by each thread between calls.
void gated_delta_chunked(const GatedDeltaDims& d, const float* q, const float* k, const float* v, const float* g,
                         const float* beta, const float* s0, float* o, float* s_final, int64_t chunk = 64);

// Backward (activation gradients only) of the forward above, recomputing what it needs from the
// inputs. d_o[T, H, dv] is dLoss/do; d_s_final[H, dk, dv] is dLoss/ds_final or null (zero).
// Outputs are overwritten, shaped like their inputs: dq, dk[T, H, dk], dv[T, H, dv], dg, dbeta[T, H],
// ds0[H, dk, dv] or null (not wanted). s0 may be null (zeros), as in the forward.
// Token by token: the oracle. Keeps every state of a head: (T + 1) * dk * dv floats per thread.
void gated_delta_reference_backward(const GatedDeltaDims& d, const float* q, const float* k, const float* v,
                                    const float* g, const float* beta, const float* s0, const float* d_o,
                                    const float* d_s_final, float* dq, float* dk, float* dv, float* dg,
                                    float* dbeta, float* ds0);

// The same gradients in chunks (the production path): a forward sweep keeps each chunk's starting
// state and delta rows, then a backward sweep recomputes each chunk's other intermediates. Memory
// per thread, kept between calls: ceil(T / chunk) * (dk + chunk) * dv floats, plus
// O(chunk * (chunk + dk + dv)) scratch.
void gated_delta_chunked_backward(const GatedDeltaDims& d, const float* q, const float* k, const float* v,
                                  const float* g, const float* beta, const float* s0, const float* d_o,
                                  const float* d_s_final, float* dq, float* dk, float* dv, float* dg, float* dbeta,
                                  float* ds0, int64_t chunk = 64);

}  // namespace s0::ops::cpu
