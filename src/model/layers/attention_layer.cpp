#include "model/layers/attention_layer.h"

#include "ops/cpu/activation.h"
#include "ops/cpu/attention.h"
#include "ops/cpu/copy.h"
#include "ops/cpu/norm.h"
#include "ops/cpu/rope.h"

namespace s0 {

void attention_layer_forward(const AttentionMixer& m, const PackedBatch& batch, const float* h, float* residual,
                             AttentionSaved& s) {
  const int64_t N = batch.n_tokens(), H = m.n_heads, Hkv = m.n_kv_heads, D = m.head_dim;
  const int64_t P = m.in_proj.out;
  const int64_t q_cols = H * D, kv_cols = Hkv * D;
  const int64_t gate_cols = m.output_gate ? q_cols : 0;
  s.proj = Tensor::zeros({N, P});
  linear_forward(m.in_proj, h, batch.offsets, s.proj.f32_mut());
  const float* proj = s.proj.f32();

  s.q = Tensor::zeros({N, H, D});
  s.k = Tensor::zeros({N, Hkv, D});
  s.v = Tensor::zeros({N, Hkv, D});
  ops::copy_cols(proj, N, P, 0, q_cols, s.q.f32_mut());
  ops::copy_cols(proj, N, P, q_cols + gate_cols, kv_cols, s.k.f32_mut());
  ops::copy_cols(proj, N, P, q_cols + gate_cols + kv_cols, kv_cols, s.v.f32_mut());
  if (!m.q_norm.empty()) {
    s.q_rstd = Tensor::zeros({N * H});
    ops::rmsnorm_forward(s.q.f32(), m.q_norm.f32(), N * H, D, m.norm_eps, s.q.f32_mut(), s.q_rstd.f32_mut());
  }
  if (!m.k_norm.empty()) {
    s.k_rstd = Tensor::zeros({N * Hkv});
    ops::rmsnorm_forward(s.k.f32(), m.k_norm.f32(), N * Hkv, D, m.norm_eps, s.k.f32_mut(), s.k_rstd.f32_mut());
  }
  ops::rope_forward(s.q.f32_mut(), batch.positions.data(), N, H, D, m.rotary_dim, m.rope_theta);
  ops::rope_forward(s.k.f32_mut(), batch.positions.data(), N, Hkv, D, m.rotary_dim, m.rope_theta);

  s.attn = Tensor::zeros({N, H, D});
  s.lse = Tensor::zeros({H * N});
  for (int64_t seq = 0; seq < batch.n_seqs(); ++seq) {
    const int64_t b = batch.begin(seq), T = batch.length(seq);
    ops::attention_forward(s.q.f32() + b * q_cols, s.k.f32() + b * kv_cols, s.v.f32() + b * kv_cols, T, H, Hkv, D,
                           m.scale, s.attn.f32_mut() + b * q_cols, s.lse.f32_mut() + H * b);
  }

  // Output gate: o * sigmoid(gate), then the output projection into the residual stream.
  Tensor gated = s.attn.clone();
  if (m.output_gate) {
    float* o = gated.f32_mut();
    for (int64_t i = 0; i < N; ++i)
      for (int64_t j = 0; j < q_cols; ++j) o[i * q_cols + j] *= ops::sigmoid(proj[i * P + q_cols + j]);
  }
  linear_forward(m.out_proj, gated.f32(), batch.offsets, residual, /*add=*/true);
}

}  // namespace s0
