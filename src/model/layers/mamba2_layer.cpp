#include "model/layers/mamba2_layer.h"

#include "ops/columns.h"
#include "ops/gates.h"
#include "ops/ssd.h"
#include "ops/state_offset.h"

namespace s0 {

namespace {

// Projection columns: z [d] | x [d] | B [G Ns] | C [G Ns] (x, B, C: the conv's input) | dt [H].
struct Layout {
  int64_t N, H, P, G, Ns, d;
  int64_t dt_begin() const { return 2 * d + 2 * G * Ns; }
};

Layout layout(const Mamba2Mixer& m, const ops::Varlen& seqs) {
  return {seqs.rows(), m.n_heads, m.head_dim, m.n_groups, m.d_state, m.d_ssm()};
}

RecurrentPipeline pipeline(const Mamba2Mixer& m) {
  return {m.in_proj, m.out_proj, m.conv_w, m.conv_b, m.d_ssm(), m.conv_dim(), 0, m.d_ssm(),
          m.norm_w, m.norm_group, m.gate_order, m.norm_eps};
}

// x [N, H, P], B and C [N, G, Ns]: the SSD's inputs, from the conv output.
struct SsdInputs {
  Tensor x, B, C;
};

SsdInputs ssd_inputs(const Layout& l, const Tensor& conv_out) {
  const int64_t gn = l.G * l.Ns;
  return {ops::copy_columns(ops::columns(conv_out, 0, l.d)).reshaped({l.N, l.H, l.P}),
          ops::copy_columns(ops::columns(conv_out, l.d, gn)).reshaped({l.N, l.G, l.Ns}),
          ops::copy_columns(ops::columns(conv_out, l.d + gn, gn)).reshaped({l.N, l.G, l.Ns})};
}

}  // namespace

void mamba2_layer_forward(const Mamba2Mixer& m, const ops::Varlen& seqs, const std::vector<ops::SequenceStart>& starts,
                          const Tensor& h, Tensor& residual, Mamba2Saved& s, std::vector<Tensor>* final_states,
                          bool for_backward) {
  const Device dev = h.device();
  const Layout l = layout(m, seqs);
  auto core = [&](const Tensor& proj, const Tensor& conv_out) {
    const SsdInputs in = ssd_inputs(l, conv_out);
    s.dt = Tensor::empty({l.N, l.H}, DType::F32, dev);
    ops::mamba2_dt_forward(ops::columns(proj, l.dt_begin(), l.H), m.dt_bias, m.dt_min, m.dt_max, s.dt);
    Tensor y = Tensor::empty({l.N, l.d}, DType::F32, dev);
    ops::ssd_forward(in.x, s.dt, m.neg_A, in.B, in.C, m.D, seqs, starts, y, final_states,
                     for_backward ? &s.chunk_states : nullptr, m.products);
    Tensor y_heads = y.reshaped({l.N, l.H, l.P});  // + C^T D_off, state-offset only
    ops::state_offset_forward(in.C, seqs, starts, ops::OffsetLayout::KeyLast, y_heads);
    return y;
  };
  recurrent_mixer_forward(pipeline(m), core, seqs, starts, h, residual, s.pipeline);
}

void mamba2_layer_backward(const Mamba2Mixer& m, const ops::Varlen& seqs,
                           const std::vector<ops::SequenceStart>& starts, const Mamba2Saved& s,
                           const Tensor& d_out, Tensor& dh, bool accumulate,
                           std::vector<Tensor>* d_initial) {
  const Device dev = d_out.device();
  const Layout l = layout(m, seqs);
  auto core = [&](const Tensor& proj, const Tensor& conv_out, const Tensor& d_y, Tensor& dproj) {
    const SsdInputs in = ssd_inputs(l, conv_out);
    const int64_t gn = l.G * l.Ns;
    Tensor dx = Tensor::zeros({l.N, l.H, l.P}, DType::F32, dev), dB = Tensor::zeros({l.N, l.G, l.Ns}, DType::F32, dev);
    Tensor dC = Tensor::zeros({l.N, l.G, l.Ns}, DType::F32, dev), ddt = Tensor::zeros({l.N, l.H}, DType::F32, dev);
    ops::ssd_backward(in.x, s.dt, m.neg_A, in.B, in.C, m.D, seqs, starts, d_y, dx, ddt, dB, dC, d_initial,
                      s.chunk_states, m.products);
    ops::state_offset_backward(in.C, seqs, starts, ops::OffsetLayout::KeyLast, d_y.reshaped({l.N, l.H, l.P}), dC,
                               d_initial);
    ops::mamba2_dt_backward(ops::columns(proj, l.dt_begin(), l.H), m.dt_bias, m.dt_min, m.dt_max, ddt,
                            ops::columns(dproj, l.dt_begin(), l.H));
    Tensor d_conv = Tensor::empty({l.N, l.d + 2 * gn}, DType::F32, dev);  // x | B | C, each written below
    ops::scatter_columns(dx.reshaped({l.N, l.d}), ops::columns(d_conv, 0, l.d));
    ops::scatter_columns(dB.reshaped({l.N, gn}), ops::columns(d_conv, l.d, gn));
    ops::scatter_columns(dC.reshaped({l.N, gn}), ops::columns(d_conv, l.d + gn, gn));
    return d_conv;
  };
  recurrent_mixer_backward(pipeline(m), core, seqs, s.pipeline, d_out, dh, accumulate);
}

}  // namespace s0
