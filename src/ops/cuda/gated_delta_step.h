#pragma once
// The gated delta rule for sequences of one token (a decode step), without the chunked form's
// preparation: per value head, S <- exp(g) S; u = beta (v - S^T k); S <- S + k u^T; o = S^T q.
// The chunked kernels (gated_delta.cu) take every longer sequence; which kernel a sequence gets
// depends on its own length alone, so its result still does not depend on the rest of the batch.
// Plain C++ (no CUDA headers): called from gated_delta.cu's host side.
#include <cstdint>

#include "core/tensor.h"

namespace s0::ops::cuda {

// The op's tensors on the device (both kernels' view): rows [N, H, dk] and [N, H]; v's rows of H dv
// values are v_ld floats apart (a column block of a wider matrix: the conv's output).
struct GatedDeltaInputs {
  int H, dk, dv;
  const float *q, *k, *v, *g, *beta;
  int64_t v_ld;
};

// For every sequence of length 1 (offsets: n_seqs + 1 entries on the device); others are left
// alone. starts[s] and finals[s] are device tables of state addresses [H, dk, dv] (0 = zeros, 0 =
// not kept); a final state may be its start state (updated in place). The states are float32, or
// bf16 when `bf16_states` (a generation cache's, SequenceStart::carried_dtype): computed in float32
// from the bf16 start, the final rounded to nearest even.
void gated_delta_step(const GatedDeltaInputs& in, int64_t n_seqs, const int64_t* offsets, const int64_t* starts,
                      const int64_t* finals, float* o, bool bf16_states);

}  // namespace s0::ops::cuda
