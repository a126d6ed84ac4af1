#pragma once
// The attention mixer over a packed batch; what it saves is what the backward reads.
#include <vector>

#include "model/model.h"
#include "ops/attention.h"
#include "ops/varlen.h"

namespace s0 {

struct AttentionSaved {
  Tensor proj;            // [N, in_proj.out]: q | gate | k | v before norms and rotary
  Tensor q_rstd, k_rstd;  // [N * H], [N * Hkv] reciprocal RMS of the q/k head norms (if any)
  Tensor q, k, v;         // [N, H, D], [N, Hkv, D], [N, Hkv, D] as attention consumed them
  Tensor attn;            // [N, H, D] attention output before the gate
  Tensor lse;             // [H * N]: per sequence s, H rows of length(s) starting at H * begin(s)
};

// residual[N, hidden] += attention(h[N, hidden]) at `positions` (one per token); `saved` receives
// the activations. With caches (one per sequence), each sequence appends its keys and values and
// attends over everything cached.
void attention_layer_forward(const AttentionMixer& m, const ops::Varlen& seqs, const std::vector<int64_t>& positions,
                             const Tensor& h, Tensor& residual, AttentionSaved& saved,
                             const std::vector<ops::KvCache*>& caches);

// dh[N, hidden] = (or += when `accumulate`) d(attention(h))/dh applied to d_out[N, hidden] (the
// gradient of the residual stream the mixer added to; read only as out_proj's backward operand, so
// it may be bf16 where ops::linear_grad_dtype(out_proj) is). Weights are frozen: only the input
// gradient is formed.
void attention_layer_backward(const AttentionMixer& m, const ops::Varlen& seqs, const std::vector<int64_t>& positions,
                              const AttentionSaved& saved, const Tensor& d_out, Tensor& dh, bool accumulate);

}  // namespace s0
