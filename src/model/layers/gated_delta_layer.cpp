#include "model/layers/gated_delta_layer.h"

#include <cmath>

#include "ops/columns.h"
#include "ops/gated_delta.h"
#include "ops/gated_delta_decode.h"
#include "ops/gates.h"
#include "ops/heads.h"
#include "ops/state_offset.h"

namespace s0 {

namespace {

// Projection columns: q [nk dk] | k [nk dk] | v [nv dv] (the conv's input) | z [nv dv] | b [nv] | a [nv].
struct Layout {
  int64_t N, nk, nv, dk, dv, C;
  int64_t b_begin() const { return C + nv * dv; }
  int64_t a_begin() const { return b_begin() + nv; }
  float q_scale() const { return static_cast<float>(1.0 / std::sqrt(static_cast<double>(dk))); }
};

Layout layout(const GatedDeltaMixer& m, const ops::Varlen& seqs) {
  return {seqs.rows(), m.n_k_heads, m.n_v_heads, m.k_dim, m.v_dim, m.conv_dim()};
}

RecurrentPipeline pipeline(const GatedDeltaMixer& m) {
  return {m.in_proj, m.out_proj, m.conv_w, Tensor(), 0, m.conv_dim(), m.conv_dim(), m.n_v_heads * m.v_dim,
          m.norm_w, m.v_dim, ops::GateOrder::NormThenGate, m.norm_eps};
}

constexpr float kL2Eps = 1e-6f;

// The key-head block at `begin` of the conv output, L2-normalised (rnorm kept) and expanded to the
// value heads.
Tensor normalised_heads(const Layout& l, const Tensor& conv_out, int64_t begin, Tensor& rnorm, float scale) {
  return ops::l2norm_expand_heads(ops::columns(conv_out, begin, l.nk * l.dk), l.nk, l.nv, kL2Eps, scale, rnorm);
}

void normalised_heads_backward(const Layout& l, const Tensor& conv_out, int64_t begin, const Tensor& rnorm,
                               float scale, const Tensor& d_expanded, Tensor& d_conv) {
  ops::l2norm_expand_heads_backward(ops::columns(conv_out, begin, l.nk * l.dk), rnorm, d_expanded, l.nk, scale,
                                    ops::columns(d_conv, begin, l.nk * l.dk));
}

// The value heads' block of the conv output (or of its gradient), which the recurrence reads (and
// writes) in place.
ops::Columns value_heads(const Layout& l, const Tensor& conv_out) {
  return ops::columns(conv_out, 2 * l.nk * l.dk, l.nv * l.dv);
}

}  // namespace

void gated_delta_layer_forward(const GatedDeltaMixer& m, const ops::Varlen& seqs,
                               const std::vector<ops::SequenceStart>& starts, const Tensor& h, Tensor& residual,
                               GatedDeltaSaved& s, std::vector<Tensor>* final_states, KeepFor keep) {
  const Device dev = h.device();
  const Layout l = layout(m, seqs);
  const bool for_backward = keep != KeepFor::nothing;
  // The recurrence's chunk states (per token nv dk dv / 64 floats; on a GPU 3.25 times that, with
  // each chunk's preparation and delta rows) spare the backward a sweep. A whole tape keeps them,
  // every layer's until its backward; a block re-run by a recompute tape keeps them on the CPU, as
  // it always has, but not on a GPU, whose recompute tape is there to hold its peak memory down.
  const bool keep_chunks = keep == KeepFor::whole_tape || (keep == KeepFor::rerun && dev.is_cpu());
  // The recurrence from its inputs (s.q, s.k, s.g, s.beta and v), its output [N, nv dv].
  auto recurrence = [&](const ops::Columns& v) {
    Tensor o = Tensor::empty({l.N, l.nv, l.dv}, DType::F32, dev);
    ops::gated_delta_forward(s.q, s.k, v, s.g, s.beta, seqs, starts, o, final_states,
                             keep_chunks ? &s.chunk_states : nullptr, m.products);
    ops::state_offset_forward(s.q, seqs, starts, ops::OffsetLayout::KeyFirst, o);  // + D^T q, state-offset only
    return o.reshaped({l.N, l.nv * l.dv});
  };
  // A decode step on the GPU: the conv, the norms, the expansions and the gates in one kernel, which
  // keeps nothing for a backward (the norms' rnorm, the conv's output).
  if (!for_backward && ops::gated_delta_decode_fused(seqs, dev)) {
    auto decode_core = [&](const Tensor& proj) {
      const ops::GatedDeltaStepInputs in = ops::gated_delta_decode_inputs(
          ops::columns(proj, 0, l.C), ops::columns(proj, l.b_begin(), l.nv), ops::columns(proj, l.a_begin(), l.nv),
          m.conv_w, m.neg_A, m.dt_bias, {l.nk, l.nv, l.dk, l.dv}, kL2Eps, l.q_scale(), starts);
      s.q = in.q;
      s.k = in.k;
      s.g = in.g;
      s.beta = in.beta;
      return recurrence(ops::all_columns(in.v));
    };
    recurrent_mixer_forward(pipeline(m), decode_core, seqs, h, residual, s.pipeline);
    return;
  }
  auto core = [&](const Tensor& proj, const Tensor& conv_out) {
    // q and k: L2-normalised per key head, expanded to the value heads; q scaled by dk^-1/2.
    s.q_rnorm = Tensor::empty({l.N * l.nk}, DType::F32, dev);
    s.k_rnorm = Tensor::empty({l.N * l.nk}, DType::F32, dev);
    s.q = normalised_heads(l, conv_out, 0, s.q_rnorm, l.q_scale());
    s.k = normalised_heads(l, conv_out, l.nk * l.dk, s.k_rnorm, 1.0f);
    s.beta = Tensor::empty({l.N, l.nv}, DType::F32, dev);
    s.g = Tensor::empty({l.N, l.nv}, DType::F32, dev);
    ops::gated_delta_gates_forward(ops::columns(proj, l.b_begin(), l.nv), ops::columns(proj, l.a_begin(), l.nv),
                                   m.neg_A, m.dt_bias, s.beta, s.g);
    return recurrence(value_heads(l, conv_out));
  };
  recurrent_mixer_forward(pipeline(m), core, seqs, starts, h, residual, s.pipeline);
}

void gated_delta_layer_backward(const GatedDeltaMixer& m, const ops::Varlen& seqs,
                                const std::vector<ops::SequenceStart>& starts, const GatedDeltaSaved& s,
                                const Tensor& d_out, Tensor& dh, bool accumulate, std::vector<Tensor>* d_initial) {
  const Device dev = d_out.device();
  const Layout l = layout(m, seqs);
  auto core = [&](const Tensor& proj, const Tensor& conv_out, const Tensor& d_o, Tensor& dproj) {
    // Overwritten whole by the backward (no zero fill: 118 MB a layer at the 4B training batch).
    Tensor dq = Tensor::empty({l.N, l.nv, l.dk}, DType::F32, dev), dk = Tensor::empty(dq.shape(), DType::F32, dev);
    Tensor dg = Tensor::empty({l.N, l.nv}, DType::F32, dev), dbeta = Tensor::empty({l.N, l.nv}, DType::F32, dev);
    Tensor d_conv = Tensor::empty({l.N, l.C}, DType::F32, dev);  // q | k | v, each written below
    // v passes straight through to the conv: the recurrence writes its gradient into d_conv's block.
    ops::gated_delta_backward(s.q, s.k, value_heads(l, conv_out), s.g, s.beta, seqs, starts,
                              d_o.reshaped({l.N, l.nv, l.dv}), dq, dk, value_heads(l, d_conv), dg, dbeta, d_initial,
                              s.chunk_states, m.products);
    ops::state_offset_backward(s.q, seqs, starts, ops::OffsetLayout::KeyFirst, d_o.reshaped({l.N, l.nv, l.dv}), dq,
                               d_initial);
    ops::gated_delta_gates_backward(ops::columns(proj, l.a_begin(), l.nv), m.neg_A, m.dt_bias, s.beta, dbeta, dg,
                                    ops::columns(dproj, l.b_begin(), l.nv), ops::columns(dproj, l.a_begin(), l.nv));
    // q, k: back onto the key heads, through the scale and the L2 norms.
    normalised_heads_backward(l, conv_out, 0, s.q_rnorm, l.q_scale(), dq, d_conv);
    normalised_heads_backward(l, conv_out, l.nk * l.dk, s.k_rnorm, 1.0f, dk, d_conv);
    return d_conv;
  };
  recurrent_mixer_backward(pipeline(m), core, seqs, s.pipeline, d_out, dh, accumulate);
}

}  // namespace s0
