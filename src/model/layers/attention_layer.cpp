#include "model/layers/attention_layer.h"

#include "ops/activation.h"
#include "ops/columns.h"
#include "ops/linear.h"
#include "ops/norm.h"

namespace s0 {

namespace {

// Projection columns: q [H D] | gate [H D] (with an output gate) | k [Hkv D] | v [Hkv D].
struct Layout {
  int64_t N, H, Hkv, D, gate_cols;
  int64_t q_cols() const { return H * D; }
  int64_t kv_cols() const { return Hkv * D; }
  int64_t k_begin() const { return q_cols() + gate_cols; }
  int64_t v_begin() const { return k_begin() + kv_cols(); }
};

Layout layout(const AttentionMixer& m, const ops::Varlen& seqs) {
  return {seqs.rows(), m.n_heads, m.n_kv_heads, m.head_dim, m.output_gate ? m.n_heads * m.head_dim : 0};
}

Tensor heads(const Tensor& proj, int64_t begin, int64_t n_heads, int64_t D) {
  return ops::copy_columns(ops::columns(proj, begin, n_heads * D)).reshaped({proj.dim(0), n_heads, D});
}

// d[N, heads, D] (q's or k's gradient after their per-head norm, if any) into dproj's columns at
// `begin`: through the norm, whose input is proj's same columns, read in place.
void heads_backward(const Tensor& norm_w, const Tensor& rstd, const Tensor& proj, int64_t begin, const Tensor& d,
                    Tensor& dproj) {
  const int64_t cols = d.dim(1) * d.dim(2);
  const ops::Columns to = ops::columns(dproj, begin, cols);
  if (norm_w.empty()) return ops::scatter_columns(d.reshaped({d.dim(0), cols}), to);
  ops::rmsnorm_backward(ops::columns(proj, begin, cols), norm_w, rstd, d, to);
}

}  // namespace

void attention_layer_forward(const AttentionMixer& m, const ops::Varlen& seqs, const std::vector<int64_t>& positions,
                             const Tensor& h, Tensor& residual, AttentionSaved& s,
                             const std::vector<ops::KvCache*>& caches) {
  const Device dev = h.device();
  const Layout l = layout(m, seqs);
  s.proj = Tensor::empty({l.N, m.in_proj.out}, DType::F32, dev);
  ops::linear_forward(m.in_proj, h, seqs, s.proj);

  s.q = Tensor::empty({l.N, l.H, l.D}, DType::F32, dev);
  s.k = Tensor::empty({l.N, l.Hkv, l.D}, DType::F32, dev);
  if (!m.q_norm.empty()) s.q_rstd = Tensor::empty({l.N * l.H}, DType::F32, dev);
  if (!m.k_norm.empty()) s.k_rstd = Tensor::empty({l.N * l.Hkv}, DType::F32, dev);
  ops::qk_norm_rope_forward(s.proj, 0, l.k_begin(), m.q_norm, m.k_norm, m.norm_eps, positions, m.rotary_dim,
                            m.rope_theta, s.q, s.k, s.q_rstd, s.k_rstd);
  s.v = heads(s.proj, l.v_begin(), l.Hkv, l.D);

  s.attn = Tensor::empty({l.N, l.H, l.D}, DType::F32, dev);
  s.lse = Tensor::empty({l.H * l.N}, DType::F32, dev);
  ops::attention_forward(s.q, s.k, s.v, m.scale, seqs, caches, s.attn, s.lse, m.products);

  // Output gate: o * sigmoid(gate), then the output projection into the residual stream.
  Tensor gated = s.attn;
  if (m.output_gate) {
    gated = Tensor::empty({l.N, l.q_cols()}, ops::linear_input_dtype(m.out_proj, l.N), dev);  // out_proj's operand
    ops::sigmoid_gate_forward(s.attn, ops::columns(s.proj, l.q_cols(), l.q_cols()), gated);
  }
  ops::linear_forward(m.out_proj, gated, seqs, residual, /*add=*/true);
}

void attention_layer_backward(const AttentionMixer& m, const ops::Varlen& seqs, const std::vector<int64_t>& positions,
                              const AttentionSaved& s, const Tensor& d_out, Tensor& dh, bool accumulate) {
  const Device dev = d_out.device();
  const Layout l = layout(m, seqs);
  // Every column of dproj is written below (q, the gate, k, v): no zeroing.
  Tensor dproj = Tensor::empty({l.N, m.in_proj.out}, DType::F32, dev);

  // Through the output projection and the sigmoid gate.
  Tensor d_attn = Tensor::empty({l.N, l.H, l.D}, DType::F32, dev);
  ops::linear_backward(m.out_proj, d_out, seqs, d_attn);
  if (m.output_gate)
    ops::sigmoid_gate_backward(s.attn, ops::columns(s.proj, l.q_cols(), l.q_cols()), d_attn,
                               ops::columns(dproj, l.q_cols(), l.q_cols()));

  Tensor dq = Tensor::empty({l.N, l.H, l.D}, DType::F32, dev), dk = Tensor::empty({l.N, l.Hkv, l.D}, DType::F32, dev);
  Tensor dv = Tensor::empty({l.N, l.Hkv, l.D}, DType::F32, dev);  // overwritten by attention_backward
  ops::attention_backward(s.q, s.k, s.v, s.attn, s.lse, d_attn, m.scale, seqs, dq, dk, dv, m.products);
  ops::rope_backward(dq, positions, m.rotary_dim, m.rope_theta);
  ops::rope_backward(dk, positions, m.rotary_dim, m.rope_theta);

  // Through the per-head q/k norms (their inputs are the projection columns) into dproj.
  heads_backward(m.q_norm, s.q_rstd, s.proj, 0, dq, dproj);
  heads_backward(m.k_norm, s.k_rstd, s.proj, l.k_begin(), dk, dproj);
  ops::scatter_columns(dv.reshaped({l.N, l.kv_cols()}), ops::columns(dproj, l.v_begin(), l.kv_cols()));
  ops::linear_backward(m.in_proj, dproj, seqs, dh, accumulate);
}

}  // namespace s0
