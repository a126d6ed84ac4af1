#include "model/layers/gated_delta_layer.h"

#include <cmath>

#include "model/layers/recurrent_cache.h"
#include "ops/cpu/activation.h"
#include "ops/cpu/conv1d.h"
#include "ops/cpu/copy.h"
#include "ops/cpu/gated_delta.h"
#include "ops/cpu/l2norm.h"
#include "ops/cpu/norm.h"

namespace s0 {

namespace {
// [N * nk, dk] key-head rows -> [N, nv, dk] value-head rows (value head h reads key head h / (nv/nk)).
void expand_heads(const float* src, int64_t N, int64_t nk, int64_t nv, int64_t dk, float scale, float* dst) {
  const int64_t rep = nv / nk;
  for (int64_t t = 0; t < N; ++t)
    for (int64_t h = 0; h < nv; ++h) {
      const float* s = src + (t * nk + h / rep) * dk;
      float* d = dst + (t * nv + h) * dk;
      for (int64_t i = 0; i < dk; ++i) d[i] = s[i] * scale;
    }
}

// The adjoint of expand_heads: value-head gradients summed back onto their key head.
void reduce_heads(const float* src, int64_t N, int64_t nk, int64_t nv, int64_t dk, float scale, float* dst) {
  const int64_t rep = nv / nk;
  for (int64_t t = 0; t < N; ++t)
    for (int64_t kh = 0; kh < nk; ++kh) {
      float* d = dst + (t * nk + kh) * dk;
      for (int64_t i = 0; i < dk; ++i) d[i] = 0.0f;
      for (int64_t r = 0; r < rep; ++r) {
        const float* s = src + (t * nv + kh * rep + r) * dk;
        for (int64_t i = 0; i < dk; ++i) d[i] += s[i] * scale;
      }
    }
}
}  // namespace

void gated_delta_layer_forward(const GatedDeltaMixer& m, int slot, const PackedBatch& batch, const float* h,
                               float* residual, GatedDeltaSaved& s, std::vector<Tensor>* final_states,
    const MixerCaches& caches) {
  const int64_t N = batch.n_tokens(), nk = m.n_k_heads, nv = m.n_v_heads, dk = m.k_dim, dv = m.v_dim;
  const int64_t P = m.in_proj.out, C = m.conv_dim(), K = m.conv_kernel;
  const int64_t z_begin = C, b_begin = C + nv * dv, a_begin = b_begin + nv;
  s.proj = Tensor::zeros({N, P});
  linear_forward(m.in_proj, h, batch.offsets, s.proj.f32_mut());
  const float* proj = s.proj.f32();

  // Causal depthwise conv + SiLU over q | k | v, each sequence from a zero (or its cached) history.
  Tensor conv_in = Tensor::zeros({N, C});
  ops::copy_cols(proj, N, P, 0, C, conv_in.f32_mut());
  s.conv_pre = Tensor::zeros({N, C});
  s.conv_out = Tensor::zeros({N, C});
  for (int64_t seq = 0; seq < batch.n_seqs(); ++seq) {
    const int64_t b = batch.begin(seq), T = batch.length(seq);
    ops::conv1d_silu_forward(conv_in.f32() + b * C, m.conv_w.f32(), nullptr, conv_history(caches, seq, K, C), T, C,
                             K, s.conv_out.f32_mut() + b * C, s.conv_pre.f32_mut() + b * C);
    conv_history_advance(caches, seq, conv_in.f32() + b * C, T, C, K);
  }

  // q and k: L2-normalised per key head, expanded to the value heads; q scaled by dk^-1/2.
  Tensor qk = Tensor::zeros({N, nk, dk});
  s.q_rnorm = Tensor::zeros({N * nk});
  s.k_rnorm = Tensor::zeros({N * nk});
  s.q = Tensor::zeros({N, nv, dk});
  s.k = Tensor::zeros({N, nv, dk});
  ops::copy_cols(s.conv_out.f32(), N, C, 0, nk * dk, qk.f32_mut());
  ops::l2norm_forward(qk.f32(), N * nk, dk, 1e-6f, qk.f32_mut(), s.q_rnorm.f32_mut());
  expand_heads(qk.f32(), N, nk, nv, dk, static_cast<float>(1.0 / std::sqrt(static_cast<double>(dk))), s.q.f32_mut());
  ops::copy_cols(s.conv_out.f32(), N, C, nk * dk, nk * dk, qk.f32_mut());
  ops::l2norm_forward(qk.f32(), N * nk, dk, 1e-6f, qk.f32_mut(), s.k_rnorm.f32_mut());
  expand_heads(qk.f32(), N, nk, nv, dk, 1.0f, s.k.f32_mut());
  s.v = Tensor::zeros({N, nv, dv});
  ops::copy_cols(s.conv_out.f32(), N, C, 2 * nk * dk, nv * dv, s.v.f32_mut());

  // Write strength beta = sigmoid(b); log decay g = -exp(A_log) * softplus(a + dt_bias).
  s.beta = Tensor::zeros({N, nv});
  s.g = Tensor::zeros({N, nv});
  for (int64_t t = 0; t < N; ++t)
    for (int64_t hh = 0; hh < nv; ++hh) {
      s.beta.f32_mut()[t * nv + hh] = ops::sigmoid(proj[t * P + b_begin + hh]);
      s.g.f32_mut()[t * nv + hh] =
          m.neg_A.f32()[hh] * ops::softplus(proj[t * P + a_begin + hh] + m.dt_bias.f32()[hh]);
    }

  s.o = Tensor::zeros({N, nv, dv});
  if (final_states) final_states->assign(static_cast<size_t>(batch.n_seqs()), Tensor());
  for (int64_t seq = 0; seq < batch.n_seqs(); ++seq) {
    const int64_t b = batch.begin(seq);
    const ops::GatedDeltaDims d{batch.length(seq), nv, dk, dv};
    Tensor s_final;
    if (needs_final_states(caches, final_states)) s_final = Tensor::zeros({nv, dk, dv});
    ops::gated_delta_chunked(d, s.q.f32() + b * nv * dk, s.k.f32() + b * nv * dk, s.v.f32() + b * nv * dv,
                             s.g.f32() + b * nv, s.beta.f32() + b * nv, recurrence_start(caches, batch, seq, slot),
                             s.o.f32_mut() + b * nv * dv, s_final.empty() ? nullptr : s_final.f32_mut());
    if (final_states) (*final_states)[seq] = s_final;
    recurrence_finish(caches, seq, s_final);
  }

  // Per-head RMS norm, gated by silu(z), then the output projection.
  s.z = Tensor::zeros({N, nv * dv});
  ops::copy_cols(proj, N, P, z_begin, nv * dv, s.z.f32_mut());
  s.norm_rstd = Tensor::zeros({N * nv});
  Tensor y = Tensor::zeros({N, nv * dv});
  ops::gated_rmsnorm_forward(s.o.f32(), s.z.f32(), m.norm_w.f32(), N, nv * dv, dv, m.norm_eps,
                             ops::GateOrder::NormThenGate, y.f32_mut(), s.norm_rstd.f32_mut());
  linear_forward(m.out_proj, y.f32(), batch.offsets, residual, /*add=*/true);
}

void gated_delta_layer_backward(const GatedDeltaMixer& m, int slot, const PackedBatch& batch,
                                const GatedDeltaSaved& s, const float* d_out, float* dh,
                                std::vector<Tensor>* d_initial) {
  const int64_t N = batch.n_tokens(), nk = m.n_k_heads, nv = m.n_v_heads, dk = m.k_dim, dv = m.v_dim;
  const int64_t P = m.in_proj.out, C = m.conv_dim(), K = m.conv_kernel;
  const int64_t z_begin = C, b_begin = C + nv * dv, a_begin = b_begin + nv;
  const float* proj = s.proj.f32();
  Tensor dproj = Tensor::zeros({N, P});
  float* dp = dproj.f32_mut();

  // Output projection, then the gated per-head norm: gradients to the recurrence output and z.
  Tensor dy = Tensor::zeros({N, nv * dv});
  linear_backward(m.out_proj, d_out, batch.offsets, dy.f32_mut());
  Tensor d_o = Tensor::zeros({N, nv * dv}), dz = Tensor::zeros({N, nv * dv});
  ops::gated_rmsnorm_backward(s.o.f32(), s.z.f32(), m.norm_w.f32(), s.norm_rstd.f32(), dy.f32(), N, nv * dv, dv,
                              ops::GateOrder::NormThenGate, d_o.f32_mut(), dz.f32_mut());
  ops::scatter_cols(dz.f32(), N, nv * dv, dp, P, z_begin, false);

  // The recurrence, sequence by sequence.
  Tensor dq = Tensor::zeros({N, nv, dk}), dkk = Tensor::zeros({N, nv, dk}), dvv = Tensor::zeros({N, nv, dv});
  Tensor dg = Tensor::zeros({N, nv}), dbeta = Tensor::zeros({N, nv});
  if (d_initial) d_initial->assign(static_cast<size_t>(batch.n_seqs()), Tensor());
  for (int64_t seq = 0; seq < batch.n_seqs(); ++seq) {
    const int64_t b = batch.begin(seq);
    const ops::GatedDeltaDims d{batch.length(seq), nv, dk, dv};
    float* ds0 = nullptr;
    if (d_initial) {
      (*d_initial)[seq] = Tensor::zeros({nv, dk, dv});
      ds0 = (*d_initial)[seq].f32_mut();
    }
    ops::gated_delta_chunked_backward(d, s.q.f32() + b * nv * dk, s.k.f32() + b * nv * dk, s.v.f32() + b * nv * dv,
                                      s.g.f32() + b * nv, s.beta.f32() + b * nv, batch.initial_state(seq, slot),
                                      d_o.f32() + b * nv * dv, nullptr, dq.f32_mut() + b * nv * dk,
                                      dkk.f32_mut() + b * nv * dk, dvv.f32_mut() + b * nv * dv, dg.f32_mut() + b * nv,
                                      dbeta.f32_mut() + b * nv, ds0);
  }

  // beta = sigmoid(b), g = -exp(A_log) softplus(a + dt_bias).
  for (int64_t t = 0; t < N; ++t)
    for (int64_t hh = 0; hh < nv; ++hh) {
      const float beta = s.beta.f32()[t * nv + hh];
      dp[t * P + b_begin + hh] = dbeta.f32()[t * nv + hh] * beta * (1.0f - beta);
      dp[t * P + a_begin + hh] = dg.f32()[t * nv + hh] * m.neg_A.f32()[hh] *
                                 ops::softplus_grad(proj[t * P + a_begin + hh] + m.dt_bias.f32()[hh]);
    }

  // q, k: back onto the key heads, through the scale and the L2 norms; v passes straight.
  Tensor d_conv = Tensor::zeros({N, C});
  Tensor dkey = Tensor::zeros({N * nk, dk}), raw = Tensor::zeros({N * nk, dk}), draw = Tensor::zeros({N * nk, dk});
  const float q_scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(dk)));
  for (int which = 0; which < 2; ++which) {
    reduce_heads(which == 0 ? dq.f32() : dkk.f32(), N, nk, nv, dk, which == 0 ? q_scale : 1.0f, dkey.f32_mut());
    ops::copy_cols(s.conv_out.f32(), N, C, which * nk * dk, nk * dk, raw.f32_mut());
    ops::l2norm_backward(raw.f32(), (which == 0 ? s.q_rnorm : s.k_rnorm).f32(), dkey.f32(), N * nk, dk,
                         draw.f32_mut());
    ops::scatter_cols(draw.f32(), N, nk * dk, d_conv.f32_mut(), C, which * nk * dk, false);
  }
  ops::scatter_cols(dvv.f32(), N, nv * dv, d_conv.f32_mut(), C, 2 * nk * dk, false);

  // The causal conv + SiLU, sequence by sequence, lands in the q | k | v projection columns.
  Tensor d_conv_in = Tensor::zeros({N, C});
  for (int64_t seq = 0; seq < batch.n_seqs(); ++seq) {
    const int64_t b = batch.begin(seq);
    ops::conv1d_silu_backward(m.conv_w.f32(), s.conv_pre.f32() + b * C, d_conv.f32() + b * C, batch.length(seq), C,
                              K, d_conv_in.f32_mut() + b * C);
  }
  ops::scatter_cols(d_conv_in.f32(), N, C, dp, P, 0, false);
  linear_backward(m.in_proj, dp, batch.offsets, dh, /*accumulate=*/true);
}

}  // namespace s0
