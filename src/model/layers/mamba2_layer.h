#pragma once
// Forward of the Mamba-2 mixer over a packed batch, each sequence starting from its own initial state.
#include <vector>

#include "model/batch.h"
#include "model/cache.h"
#include "model/model.h"

namespace s0 {

struct Mamba2Saved {
  Tensor proj;       // [N, in_proj.out]: z | x | B | C | dt (multipliers folded in)
  Tensor conv_pre;   // [N, conv_dim] before SiLU
  Tensor x, B, C;    // [N, H, P], [N, G, N_state], [N, G, N_state] after the conv
  Tensor dt;         // [N, H] after softplus and clamping
  Tensor y;          // [N, d] recurrence output (D skip included)
  Tensor z;          // [N, d] gate input
  Tensor norm_rstd;  // [N * G] when normalised
};

// final_states (if not null) receives one [H, P, N] tensor per sequence. With caches (one per
// sequence) each sequence continues from its cached conv window and state and updates them.
void mamba2_layer_forward(const Mamba2Mixer& m, int slot, const PackedBatch& batch, const float* h, float* residual,
                          Mamba2Saved& saved, std::vector<Tensor>* final_states,
    const MixerCaches& caches = {});

// dh[N, hidden] += the input gradient for d_out[N, hidden]; d_initial (if not null) receives, per
// sequence, the gradient with respect to its initial state [H, P, N].
void mamba2_layer_backward(const Mamba2Mixer& m, int slot, const PackedBatch& batch, const Mamba2Saved& saved,
                           const float* d_out, float* dh, std::vector<Tensor>* d_initial);

}  // namespace s0
