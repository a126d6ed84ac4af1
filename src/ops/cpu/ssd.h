#pragma once
// The Mamba-2 selective state-space recurrence (SSD), per head h with state S[P, N]:
//   S <- exp(dt_t A_h) S + dt_t x_t B_t^T;   y_t = S C_t + D_h x_t
// B and C are shared by the H / G heads of each group.
#include <cstdint>

namespace s0::ops {

struct SsdDims {
  int64_t T, H, P, G, N;
};

// x[T, H, P], dt[T, H] (after softplus and clamping), A[H] (negative), B and C[T, G, N], D[H],
// s0[H, P, N] or null. y[T, H, P]; s_final[H, P, N] or null. Token by token: the oracle.
void ssd_reference(const SsdDims& d, const float* x, const float* dt, const float* A, const float* B, const float* C,
                   const float* D, const float* s0, float* y, float* s_final);

// The same result in chunks of `chunk` tokens with matrix products (the production path).
void ssd_chunked(const SsdDims& d, const float* x, const float* dt, const float* A, const float* B, const float* C,
                 const float* D, const float* s0, float* y, float* s_final, int64_t chunk = 64);

}  // namespace s0::ops
