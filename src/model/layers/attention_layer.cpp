#include "model/layers/attention_layer.h"

#include "ops/cpu/activation.h"
#include "ops/cpu/attention.h"
#include "ops/cpu/copy.h"
#include "ops/cpu/norm.h"
#include "ops/cpu/rope.h"

namespace s0 {

void attention_layer_forward(const AttentionMixer& m, const PackedBatch& batch, const float* h, float* residual,
                             AttentionSaved& s, const MixerCaches& caches) {
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
    const float* k = s.k.f32() + b * kv_cols;
    const float* v = s.v.f32() + b * kv_cols;
    int64_t past = 0;
    if (!caches.empty()) {
      MixerCache& c = *caches[seq];
      past = static_cast<int64_t>(c.k.size()) / kv_cols;
      c.k.insert(c.k.end(), k, k + T * kv_cols);
      c.v.insert(c.v.end(), v, v + T * kv_cols);
      k = c.k.data();
      v = c.v.data();
    }
    ops::attention_forward_past(s.q.f32() + b * q_cols, k, v, T, past, H, Hkv, D, m.scale,
                                s.attn.f32_mut() + b * q_cols, s.lse.f32_mut() + H * b);
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

void attention_layer_backward(const AttentionMixer& m, const PackedBatch& batch, const AttentionSaved& s,
                              const float* d_out, float* dh) {
  const int64_t N = batch.n_tokens(), H = m.n_heads, Hkv = m.n_kv_heads, D = m.head_dim;
  const int64_t P = m.in_proj.out, q_cols = H * D, kv_cols = Hkv * D;
  const int64_t gate_cols = m.output_gate ? q_cols : 0;
  const float* proj = s.proj.f32();
  Tensor dproj = Tensor::zeros({N, P});
  float* dp = dproj.f32_mut();

  // Through the output projection and the sigmoid gate.
  Tensor d_attn = Tensor::zeros({N, q_cols});
  linear_backward(m.out_proj, d_out, batch.offsets, d_attn.f32_mut());
  if (m.output_gate) {
    float* da = d_attn.f32_mut();
    const float* o = s.attn.f32();
    for (int64_t i = 0; i < N; ++i)
      for (int64_t j = 0; j < q_cols; ++j) {
        const float sg = ops::sigmoid(proj[i * P + q_cols + j]);
        const float g = da[i * q_cols + j];
        dp[i * P + q_cols + j] = g * o[i * q_cols + j] * sg * (1.0f - sg);
        da[i * q_cols + j] = g * sg;
      }
  }

  Tensor dq = Tensor::zeros({N, H, D}), dk = Tensor::zeros({N, Hkv, D}), dv = Tensor::zeros({N, Hkv, D});
  for (int64_t seq = 0; seq < batch.n_seqs(); ++seq) {
    const int64_t b = batch.begin(seq), T = batch.length(seq);
    ops::attention_backward(s.q.f32() + b * q_cols, s.k.f32() + b * kv_cols, s.v.f32() + b * kv_cols,
                            s.attn.f32() + b * q_cols, s.lse.f32() + H * b, d_attn.f32() + b * q_cols, T, H, Hkv, D,
                            m.scale, dq.f32_mut() + b * q_cols, dk.f32_mut() + b * kv_cols, dv.f32_mut() + b * kv_cols);
  }
  ops::rope_backward(dq.f32_mut(), batch.positions.data(), N, H, D, m.rotary_dim, m.rope_theta);
  ops::rope_backward(dk.f32_mut(), batch.positions.data(), N, Hkv, D, m.rotary_dim, m.rope_theta);

  // Through the per-head q/k norms (their inputs are the projection columns).
  auto head_norm_backward = [&](const Tensor& norm_w, const Tensor& rstd, int64_t begin, int64_t heads, Tensor& d) {
    if (norm_w.empty()) return;
    Tensor pre = Tensor::zeros({N, heads * D});
    ops::copy_cols(proj, N, P, begin, heads * D, pre.f32_mut());
    Tensor dpre = Tensor::zeros({N, heads * D});
    ops::rmsnorm_backward(pre.f32(), norm_w.f32(), rstd.f32(), d.f32(), N * heads, D, dpre.f32_mut(), false);
    d = dpre;
  };
  head_norm_backward(m.q_norm, s.q_rstd, 0, H, dq);
  head_norm_backward(m.k_norm, s.k_rstd, q_cols + gate_cols, Hkv, dk);
  ops::scatter_cols(dq.f32(), N, q_cols, dp, P, 0, false);
  ops::scatter_cols(dk.f32(), N, kv_cols, dp, P, q_cols + gate_cols, false);
  ops::scatter_cols(dv.f32(), N, kv_cols, dp, P, q_cols + gate_cols + kv_cols, false);
  linear_backward(m.in_proj, dp, batch.offsets, dh, /*accumulate=*/true);
}

}  // namespace s0
