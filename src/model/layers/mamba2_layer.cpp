#include "model/layers/mamba2_layer.h"

#include <algorithm>

#include "model/layers/recurrent_cache.h"
#include "ops/cpu/activation.h"
#include "ops/cpu/conv1d.h"
#include "ops/cpu/copy.h"
#include "ops/cpu/norm.h"
#include "ops/cpu/ssd.h"

namespace s0 {

void mamba2_layer_forward(const Mamba2Mixer& m, int slot, const PackedBatch& batch, const float* h, float* residual,
                          Mamba2Saved& s, std::vector<Tensor>* final_states,
    const MixerCaches& caches) {
  const int64_t N = batch.n_tokens(), H = m.n_heads, Pd = m.head_dim, G = m.n_groups, Ns = m.d_state;
  const int64_t d = m.d_ssm(), Cdim = m.conv_dim(), K = m.conv_kernel, P = m.in_proj.out;
  const int64_t dt_begin = d + Cdim;
  s.proj = Tensor::zeros({N, P});
  linear_forward(m.in_proj, h, batch.offsets, s.proj.f32_mut());
  const float* proj = s.proj.f32();

  Tensor conv_in = Tensor::zeros({N, Cdim});
  ops::copy_cols(proj, N, P, d, Cdim, conv_in.f32_mut());
  s.conv_pre = Tensor::zeros({N, Cdim});
  Tensor conv_out = Tensor::zeros({N, Cdim});
  for (int64_t seq = 0; seq < batch.n_seqs(); ++seq) {
    const int64_t b = batch.begin(seq), T = batch.length(seq);
    ops::conv1d_silu_forward(conv_in.f32() + b * Cdim, m.conv_w.f32(), m.conv_b.empty() ? nullptr : m.conv_b.f32(),
                             conv_history(caches, seq, K, Cdim), T, Cdim, K, conv_out.f32_mut() + b * Cdim,
                             s.conv_pre.f32_mut() + b * Cdim);
    conv_history_advance(caches, seq, conv_in.f32() + b * Cdim, T, Cdim, K);
  }
  s.x = Tensor::zeros({N, H, Pd});
  s.B = Tensor::zeros({N, G, Ns});
  s.C = Tensor::zeros({N, G, Ns});
  ops::copy_cols(conv_out.f32(), N, Cdim, 0, d, s.x.f32_mut());
  ops::copy_cols(conv_out.f32(), N, Cdim, d, G * Ns, s.B.f32_mut());
  ops::copy_cols(conv_out.f32(), N, Cdim, d + G * Ns, G * Ns, s.C.f32_mut());

  s.dt = Tensor::zeros({N, H});
  for (int64_t t = 0; t < N; ++t)
    for (int64_t hh = 0; hh < H; ++hh)
      s.dt.f32_mut()[t * H + hh] =
          std::clamp(ops::softplus(proj[t * P + dt_begin + hh] + m.dt_bias.f32()[hh]), m.dt_min, m.dt_max);

  s.y = Tensor::zeros({N, d});
  if (final_states) final_states->assign(static_cast<size_t>(batch.n_seqs()), Tensor());
  for (int64_t seq = 0; seq < batch.n_seqs(); ++seq) {
    const int64_t b = batch.begin(seq);
    const ops::SsdDims dims{batch.length(seq), H, Pd, G, Ns};
    Tensor s_final;
    if (needs_final_states(caches, final_states)) s_final = Tensor::zeros({H, Pd, Ns});
    ops::ssd_chunked(dims, s.x.f32() + b * d, s.dt.f32() + b * H, m.neg_A.f32(), s.B.f32() + b * G * Ns,
                     s.C.f32() + b * G * Ns, m.D.f32(), recurrence_start(caches, batch, seq, slot),
                     s.y.f32_mut() + b * d, s_final.empty() ? nullptr : s_final.f32_mut());
    if (final_states) (*final_states)[seq] = s_final;
    recurrence_finish(caches, seq, s_final);
  }

  s.z = Tensor::zeros({N, d});
  ops::copy_cols(proj, N, P, 0, d, s.z.f32_mut());
  Tensor gated = Tensor::zeros({N, d});
  if (m.gate_order != ops::GateOrder::GateOnly) s.norm_rstd = Tensor::zeros({N * G});
  ops::gated_rmsnorm_forward(s.y.f32(), s.z.f32(), m.norm_w.empty() ? nullptr : m.norm_w.f32(), N, d, d / G,
                             m.norm_eps, m.gate_order, gated.f32_mut(),
                             s.norm_rstd.empty() ? nullptr : s.norm_rstd.f32_mut());
  linear_forward(m.out_proj, gated.f32(), batch.offsets, residual, /*add=*/true);
}

void mamba2_layer_backward(const Mamba2Mixer& m, int slot, const PackedBatch& batch, const Mamba2Saved& s,
                           const float* d_out, float* dh, std::vector<Tensor>* d_initial) {
  const int64_t N = batch.n_tokens(), H = m.n_heads, Pd = m.head_dim, G = m.n_groups, Ns = m.d_state;
  const int64_t d = m.d_ssm(), Cdim = m.conv_dim(), K = m.conv_kernel, P = m.in_proj.out;
  const int64_t dt_begin = d + Cdim;
  const float* proj = s.proj.f32();
  Tensor dproj = Tensor::zeros({N, P});
  float* dp = dproj.f32_mut();

  Tensor dgated = Tensor::zeros({N, d});
  linear_backward(m.out_proj, d_out, batch.offsets, dgated.f32_mut());
  Tensor dy = Tensor::zeros({N, d}), dz = Tensor::zeros({N, d});
  ops::gated_rmsnorm_backward(s.y.f32(), s.z.f32(), m.norm_w.empty() ? nullptr : m.norm_w.f32(),
                              s.norm_rstd.empty() ? nullptr : s.norm_rstd.f32(), dgated.f32(), N, d, d / G,
                              m.gate_order, dy.f32_mut(), dz.f32_mut());
  ops::scatter_cols(dz.f32(), N, d, dp, P, 0, false);

  Tensor dx = Tensor::zeros({N, H, Pd}), dB = Tensor::zeros({N, G, Ns}), dC = Tensor::zeros({N, G, Ns});
  Tensor ddt = Tensor::zeros({N, H}), dD = Tensor::zeros({H});
  if (d_initial) d_initial->assign(static_cast<size_t>(batch.n_seqs()), Tensor());
  for (int64_t seq = 0; seq < batch.n_seqs(); ++seq) {
    const int64_t b = batch.begin(seq);
    const ops::SsdDims dims{batch.length(seq), H, Pd, G, Ns};
    float* ds0 = nullptr;
    if (d_initial) {
      (*d_initial)[seq] = Tensor::zeros({H, Pd, Ns});
      ds0 = (*d_initial)[seq].f32_mut();
    }
    ops::ssd_chunked_backward(dims, s.x.f32() + b * d, s.dt.f32() + b * H, m.neg_A.f32(), s.B.f32() + b * G * Ns,
                              s.C.f32() + b * G * Ns, m.D.f32(), batch.initial_state(seq, slot), dy.f32() + b * d,
                              nullptr, dx.f32_mut() + b * d, ddt.f32_mut() + b * H, dB.f32_mut() + b * G * Ns,
                              dC.f32_mut() + b * G * Ns, dD.f32_mut(), ds0);
  }

  // dt = clamp(softplus(raw + dt_bias), dt_min, dt_max): the clamp passes gradient inside its range.
  for (int64_t t = 0; t < N; ++t)
    for (int64_t hh = 0; hh < H; ++hh) {
      const float pre = proj[t * P + dt_begin + hh] + m.dt_bias.f32()[hh];
      const float sp = ops::softplus(pre);
      const bool inside = sp >= m.dt_min && sp <= m.dt_max;
      dp[t * P + dt_begin + hh] = inside ? ddt.f32()[t * H + hh] * ops::softplus_grad(pre) : 0.0f;
    }

  Tensor d_conv = Tensor::zeros({N, Cdim});
  ops::scatter_cols(dx.f32(), N, d, d_conv.f32_mut(), Cdim, 0, false);
  ops::scatter_cols(dB.f32(), N, G * Ns, d_conv.f32_mut(), Cdim, d, false);
  ops::scatter_cols(dC.f32(), N, G * Ns, d_conv.f32_mut(), Cdim, d + G * Ns, false);
  Tensor d_conv_in = Tensor::zeros({N, Cdim});
  for (int64_t seq = 0; seq < batch.n_seqs(); ++seq) {
    const int64_t b = batch.begin(seq);
    ops::conv1d_silu_backward(m.conv_w.f32(), s.conv_pre.f32() + b * Cdim, d_conv.f32() + b * Cdim,
                              batch.length(seq), Cdim, K, d_conv_in.f32_mut() + b * Cdim);
  }
  ops::scatter_cols(d_conv_in.f32(), N, Cdim, dp, P, d, false);
  linear_backward(m.in_proj, dp, batch.offsets, dh, /*accumulate=*/true);
}

}  // namespace s0
