#include "model/layers/recurrent_mixer.h"

#include "ops/columns.h"
#include "ops/conv1d.h"
#include "ops/linear.h"
#include "ops/norm.h"

namespace s0 {

void recurrent_mixer_forward(const RecurrentPipeline& p, const RecurrentConvCoreForward& core, const ops::Varlen& seqs,
                             const Tensor& h, Tensor& residual, RecurrentSaved& s) {
  const Device dev = h.device();
  const int64_t N = seqs.rows();
  s.proj = Tensor::empty({N, p.in_proj.out}, DType::F32, dev);
  ops::linear_forward(p.in_proj, h, seqs, s.proj);

  s.o = core(s.proj);

  const ops::Columns z = ops::columns(s.proj, p.z_begin, p.width);
  if (p.gate_order != ops::GateOrder::GateOnly) s.norm_rstd = Tensor::empty({N * p.width / p.norm_group}, DType::F32, dev);
  Tensor y = Tensor::empty({N, p.width}, ops::linear_input_dtype(p.out_proj, N), dev);  // out_proj's operand
  ops::gated_rmsnorm_forward(s.o, z, p.norm_w, p.norm_group, p.norm_eps, p.gate_order, y, s.norm_rstd);
  ops::linear_forward(p.out_proj, y, seqs, residual, /*add=*/true);
}

void recurrent_mixer_forward(const RecurrentPipeline& p, const RecurrentCoreForward& core, const ops::Varlen& seqs,
                             const std::vector<ops::SequenceStart>& starts, const Tensor& h, Tensor& residual,
                             RecurrentSaved& s) {
  const RecurrentConvCoreForward conv_then_core = [&](const Tensor& proj) {
    const int64_t N = seqs.rows();
    s.conv_pre = Tensor::empty({N, p.conv_dim}, DType::F32, proj.device());
    s.conv_out = Tensor::empty({N, p.conv_dim}, DType::F32, proj.device());
    ops::conv1d_silu_forward(ops::columns(proj, p.conv_begin, p.conv_dim), p.conv_w, p.conv_b, seqs, starts,
                             s.conv_out, s.conv_pre);
    return core(proj, s.conv_out);
  };
  recurrent_mixer_forward(p, conv_then_core, seqs, h, residual, s);
}

void recurrent_mixer_backward(const RecurrentPipeline& p, const RecurrentCoreBackward& core, const ops::Varlen& seqs,
                              const RecurrentSaved& s, const Tensor& d_out, Tensor& dh, bool accumulate) {
  const Device dev = d_out.device();
  const int64_t N = seqs.rows();
  // Every column of dproj is written below (z, the conv's input, the core's gates): no zeroing. It is
  // the input projection's operand, each column written in the dtype that GEMM reads it in.
  Tensor dproj = Tensor::empty({N, p.in_proj.out}, ops::linear_grad_dtype(p.in_proj), dev);

  // Output projection, then the gated norm: gradients to the core's output and to z.
  Tensor dy = Tensor::empty({N, p.width}, DType::F32, dev);
  ops::linear_backward(p.out_proj, d_out, seqs, dy);
  Tensor d_o = Tensor::empty({N, p.width}, DType::F32, dev);
  ops::gated_rmsnorm_backward(s.o, ops::columns(s.proj, p.z_begin, p.width), p.norm_w, s.norm_rstd, dy, p.norm_group,
                              p.gate_order, d_o, ops::columns(dproj, p.z_begin, p.width));

  const Tensor d_conv = core(s.proj, s.conv_out, d_o, dproj);
  ops::conv1d_silu_backward(p.conv_w, s.conv_pre, d_conv, seqs, ops::columns(dproj, p.conv_begin, p.conv_dim));
  ops::linear_backward(p.in_proj, dproj, seqs, dh, accumulate);
}

}  // namespace s0
