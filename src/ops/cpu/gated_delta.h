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

// Tokens per chunk of the production path.
inline constexpr int64_t kGatedDeltaChunk = 64;

// q, k[T, H, dk], v[T, H, dv], g and beta[T, H], s0[H, dk, dv] or null (zeros).
// o[T, H, dv]; s_final[H, dk, dv] or null.
// Token by token: the oracle the chunked form is tested against.
void gated_delta_reference(const GatedDeltaDims& d, const float* q, const float* k, const float* v, const float* g,
                           const float* beta, const float* s0, float* o, float* s_final);

// The same result computed in chunks of `chunk` tokens (clamped to [1, 512]) with matrix products
// (the production path): the WY / UT-transform form. Scratch: O(chunk * (chunk + dk + dv)) floats
// per thread, kept by each thread between calls. chunk_starts, when set, receives the state entering
// each chunk, [H, ceil(T / chunk), dk, dv] (gated_delta_chunk_starts_floats), for the backward.
// s_final, when set, is the state's working buffer: it must not overlap s0.
void gated_delta_chunked(const GatedDeltaDims& d, const float* q, const float* k, const float* v, const float* g,
                         const float* beta, const float* s0, float* o, float* s_final, int64_t chunk = kGatedDeltaChunk,
                         float* chunk_starts = nullptr);

// Floats of the forward's chunk starting states: H * ceil(T / chunk) * dk * dv.
int64_t gated_delta_chunk_starts_floats(const GatedDeltaDims& d, int64_t chunk = kGatedDeltaChunk);

// Backward (activation gradients only) of the forward above, recomputing what it needs from the
// inputs. d_o[T, H, dv] is dLoss/do; d_s_final[H, dk, dv] is dLoss/ds_final or null (zero).
// Outputs are overwritten, shaped like their inputs: dq, dk[T, H, dk], dv[T, H, dv], dg, dbeta[T, H],
// ds0[H, dk, dv] or null (not wanted). s0 may be null (zeros), as in the forward.
// Token by token: the oracle. Keeps every state of a head: (T + 1) * dk * dv floats per thread.
void gated_delta_reference_backward(const GatedDeltaDims& d, const float* q, const float* k, const float* v,
                                    const float* g, const float* beta, const float* s0, const float* d_o,
                                    const float* d_s_final, float* dq, float* dk, float* dv, float* dg,
                                    float* dbeta, float* ds0);

// The same gradients in chunks (the production path): a backward sweep over the chunks recomputes
// each chunk's intermediates from the state entering it. Those states are the forward's
// chunk_starts when given (same chunk size, same inputs; the gradients come out bit for bit as
// without), else a forward sweep first recomputes them, into a per-thread buffer of
// ceil(T / chunk) * dk * dv floats kept between calls. Scratch: O(chunk * (chunk + dk + dv)) floats
// per thread.
void gated_delta_chunked_backward(const GatedDeltaDims& d, const float* q, const float* k, const float* v,
                                  const float* g, const float* beta, const float* s0, const float* d_o,
                                  const float* d_s_final, float* dq, float* dk, float* dv, float* dg, float* dbeta,
                                  float* ds0, int64_t chunk = kGatedDeltaChunk, const float* chunk_starts = nullptr);

}  // namespace s0::ops::cpu
