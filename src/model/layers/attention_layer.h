#pragma once
// Forward of the attention mixer over a packed batch; what it saves is what the backward reads.
#include "model/batch.h"
#include "model/cache.h"
#include "model/model.h"

namespace s0 {

struct AttentionSaved {
  Tensor proj;            // [N, in_proj.out]: q | gate | k | v before norms and rotary
  Tensor q_rstd, k_rstd;  // [N * H], [N * Hkv] reciprocal RMS of the q/k head norms (if any)
  Tensor q, k, v;         // [N, H, D], [N, Hkv, D], [N, Hkv, D] as attention consumed them
  Tensor attn;            // [N, H, D] attention output before the gate
  Tensor lse;             // [H * N]: per sequence s, H rows of length(s) starting at H * begin(s)
};

// residual[N, hidden] += attention(h); `saved` receives the activations. With caches (one per
// sequence), each sequence appends its keys and values and attends over everything cached.
void attention_layer_forward(const AttentionMixer& m, const PackedBatch& batch, const float* h, float* residual,
                             AttentionSaved& saved, const MixerCaches& caches = {});

// dh[N, hidden] += d(attention(h))/dh applied to d_out[N, hidden] (the gradient of the residual
// stream the mixer added to). Weights are frozen: only the input gradient is formed.
void attention_layer_backward(const AttentionMixer& m, const PackedBatch& batch, const AttentionSaved& saved,
                              const float* d_out, float* dh);

}  // namespace s0
