#pragma once
// SSD for sequences of one token (a decode step), without the chunked form's preparation: per head
// h and state row p, S[p] <- exp(dt A_h) S[p] + dt x_p B;  y_p = S[p] . C + D_h x_p. The chunked
// kernels (ssd.cu) take every longer sequence; which kernel a sequence gets depends on its own
// length alone, so its result still does not depend on the rest of the batch. Included by the
// .cu files only (the inputs carry a device function).
#include <cstdint>

namespace s0::ops::cuda {

// The op's tensors on the device (every SSD kernel's view): x [N, H, P], dt [N, H], A and D [H], B
// and C [N, G, Ns].
struct SsdInputs {
  int H, P, G, Ns;
  const float *x, *dt, *A, *B, *C, *D;

  __device__ int64_t group_row(int64_t row, int h) const { return (row * G + h / (H / G)) * Ns; }
};

// For every sequence of length 1 (offsets: n_seqs + 1 entries on the device), y written whole;
// others are left alone. starts[s] and finals[s] are device tables of state addresses [H, P, Ns]
// (0 = zeros, 0 = not kept); a final state may be its start state (updated in place). The states
// are float32, or bf16 when `bf16_states` (computed in float32, the final rounded to nearest even).
void ssd_step(const SsdInputs& in, int64_t n_seqs, const int64_t* offsets, const int64_t* starts,
              const int64_t* finals, float* y, bool bf16_states);

}  // namespace s0::ops::cuda
