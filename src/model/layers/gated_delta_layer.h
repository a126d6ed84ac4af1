#pragma once
// Forward of the GatedDeltaNet mixer over a packed batch, each sequence starting from its own
// initial state.
#include <vector>

#include "model/batch.h"
#include "model/cache.h"
#include "model/model.h"

namespace s0 {

struct GatedDeltaSaved {
  Tensor proj;              // [N, in_proj.out]: qkv | z | b | a
  Tensor conv_pre;          // [N, conv_dim] convolution output before SiLU
  Tensor conv_out;          // [N, conv_dim] after SiLU
  Tensor q_rnorm, k_rnorm;  // [N * nk] reciprocal L2 norms of the key-head q and k
  Tensor q, k;              // [N, nv, dk] normalised, expanded to value heads (q also scaled)
  Tensor v;                 // [N, nv, dv]
  Tensor g, beta;           // [N, nv] log decay and write strength
  Tensor o;                 // [N, nv, dv] recurrence output
  Tensor z;                 // [N, nv * dv] output gate input
  Tensor norm_rstd;         // [N * nv]
};

// residual[N, hidden] += gated_delta_net(h). `slot` picks each sequence's initial state from the
// batch; final_states (if not null) receives one [nv, dk, dv] tensor per sequence. With caches (one
// per sequence) each sequence continues from its cached conv window and state and updates them.
void gated_delta_layer_forward(const GatedDeltaMixer& m, int slot, const PackedBatch& batch, const float* h,
                               float* residual, GatedDeltaSaved& saved, std::vector<Tensor>* final_states,
    const MixerCaches& caches = {});

// dh[N, hidden] += the input gradient for d_out[N, hidden]; d_initial (if not null) receives, per
// sequence, the gradient with respect to its initial state [nv, dk, dv] (also for a zero start).
void gated_delta_layer_backward(const GatedDeltaMixer& m, int slot, const PackedBatch& batch,
                                const GatedDeltaSaved& saved, const float* d_out, float* dh,
                                std::vector<Tensor>* d_initial);

}  // namespace s0
