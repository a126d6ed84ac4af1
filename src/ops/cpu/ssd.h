#pragma once
// The Mamba-2 selective state-space recurrence (SSD), per head h with state S[P, N]:
//   S <- exp(dt_t A_h) S + dt_t x_t B_t^T;   y_t = S C_t + D_h x_t
// B and C are shared by the H / G heads of each group.
#include <cstdint>

namespace s0::ops::cpu {

struct SsdDims {
  int64_t T, H, P, G, N;
};

// Tokens per chunk of the production path.
inline constexpr int64_t kSsdChunk = 64;

// x[T, H, P], dt[T, H] (after softplus and clamping), A[H] (negative), B and C[T, G, N], D[H],
// s0[H, P, N] or null. y[T, H, P]; s_final[H, P, N] or null. Token by token: the oracle.
void ssd_reference(const SsdDims& d, const float* x, const float* dt, const float* A, const float* B, const float* C,
                   const float* D, const float* s0, float* y, float* s_final);

// The same result in chunks of `chunk` tokens (clamped to [1, 512]) with matrix products (the
// production path).
// Scratch: O(chunk * (chunk + P + N)) floats per thread, kept by each thread between calls.
// chunk_starts, when set, receives the state entering each chunk, [H, ceil(T / chunk), P, N]
// (ssd_chunk_starts_floats), for the backward; the forward then also advances the state the way
// the backward's sweep does (one more product per chunk), so that the kept states are its bits.
void ssd_chunked(const SsdDims& d, const float* x, const float* dt, const float* A, const float* B, const float* C,
                 const float* D, const float* s0, float* y, float* s_final, int64_t chunk = kSsdChunk,
                 float* chunk_starts = nullptr);

// Floats of the forward's chunk starting states: H * ceil(T / chunk) * P * N.
int64_t ssd_chunk_starts_floats(const SsdDims& d, int64_t chunk = kSsdChunk);

// Backward (activation gradients only; A is a weight and gets none), recomputing what it needs
// from the inputs. d_y[T, H, P] is dLoss/dy, d_s_final[H, P, N] dLoss/ds_final or null (zero).
// Outputs are overwritten: dx[T, H, P], ddt[T, H], dB and dC[T, G, N] (summed over the heads of each
// group), dD[H], ds0[H, P, N] or null (not wanted). s0 may be null (zeros), as in the forward.
// Token by token: the oracle. Keeps every state of a head: (T + 1) * P * N floats per thread.
void ssd_reference_backward(const SsdDims& d, const float* x, const float* dt, const float* A, const float* B,
                            const float* C, const float* D, const float* s0, const float* d_y,
                            const float* d_s_final, float* dx, float* ddt, float* dB, float* dC, float* dD,
                            float* ds0);

// The same gradients in chunks (the production path). Given the forward's chunk_starts (same chunk
// size, same inputs: the gradients come out bit for bit as without), the chunks are swept last to
// first from those. Without, a forward sweep keeps each head's state at
// the start of every window of chunks; windows are then processed last to first, each recomputing
// its chunk states and sweeping the state gradient back through them. Each head's share of dB and
// dC is kept apart and summed per group, so heads run in parallel without races. Memory, kept by
// the calling thread between calls: H * ceil(T / chunk / window) * P * N floats of window states,
// H * P * N of state gradients and at most 2^22 floats of shares (which sets the window); kept by
// each worker thread: window * P * N floats of states and O(chunk * (chunk + P + N)) scratch.
void ssd_chunked_backward(const SsdDims& d, const float* x, const float* dt, const float* A, const float* B,
                          const float* C, const float* D, const float* s0, const float* d_y,
                          const float* d_s_final, float* dx, float* ddt, float* dB, float* dC, float* dD,
                          float* ds0, int64_t chunk = kSsdChunk, const float* chunk_starts = nullptr);

}  // namespace s0::ops::cpu
