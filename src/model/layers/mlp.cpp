#include "model/layers/mlp.h"

#include "ops/activation.h"
#include "ops/columns.h"
#include "ops/linear.h"
#include "ops/linear_swiglu.h"

namespace s0 {

namespace {
int64_t projection_width(const MlpWeights& w) {
  return w.act == MlpActivation::SwiGLU ? 2 * w.down.in : w.down.in;
}

// SwiGLU reads its input projection's output, kept for the backward, and the gradient to its own
// output in the dtype a bf16 GEMM can write them in (ops::linear_output_dtype): half the bytes of
// the largest activations of a training step. Float32 for the squared ReLU and for projections in
// blocks, whose parts are written column by column.
bool swiglu_reads_bf16(const MlpWeights& w) { return w.act == MlpActivation::SwiGLU && w.n_blocks == 1; }
DType projection_dtype(const MlpWeights& w, int64_t rows) {
  return swiglu_reads_bf16(w) ? ops::linear_output_dtype(w.in[0], rows) : DType::F32;
}
DType activation_grad_dtype(const MlpWeights& w) {
  return swiglu_reads_bf16(w) ? ops::linear_grad_dtype(w.down) : DType::F32;
}
}  // namespace

void mlp_forward(const MlpWeights& w, const ops::Varlen& groups, const Tensor& x, Tensor& y, bool add,
                 Tensor& in_out) {
  const int64_t rows = x.dim(0), I = w.down.in;
  const Device dev = x.device();
  in_out = Tensor::empty({rows, projection_width(w)}, projection_dtype(w, rows), dev);
  // The activation's one reader is the down projection: written as its GEMM's operand.
  Tensor act = Tensor::empty({rows, I}, ops::linear_input_dtype(w.down, rows), dev);
  if (w.n_blocks == 1 && w.act == MlpActivation::SwiGLU) {
    ops::linear_swiglu_forward(w.in[0], x, groups, in_out, act);  // one kernel at a decode step's rows
  } else {
    if (w.n_blocks == 1) {
      ops::linear_forward(w.in[0], x, groups, in_out);
    } else {
      int64_t col = 0;
      for (size_t b = 0; b < w.n_blocks; ++b) {
        Tensor part = Tensor::empty({rows, w.in[b].out}, DType::F32, dev);
        ops::linear_forward(w.in[b], x, groups, part);
        ops::scatter_columns(part, ops::columns(in_out, col, w.in[b].out));
        col += w.in[b].out;
      }
    }
    if (w.act == MlpActivation::SwiGLU)
      ops::swiglu_forward(in_out, act);
    else
      ops::relu2_forward(in_out, act);
  }
  ops::linear_forward(w.down, act, groups, y, add);
}

void mlp_backward(const MlpWeights& w, const ops::Varlen& groups, const Tensor& in_out, const Tensor& dy, Tensor& dx,
                  bool accumulate) {
  const int64_t rows = dy.dim(0), I = w.down.in;
  const Device dev = dy.device();
  Tensor dact = Tensor::empty({rows, I}, activation_grad_dtype(w), dev);
  ops::linear_backward(w.down, dy, groups, dact);
  // One input projection reads d_in whole (its GEMM's operand); blocks read column copies of it.
  const DType d_in_dtype = w.n_blocks == 1 ? ops::linear_grad_dtype(w.in[0]) : DType::F32;
  Tensor d_in = Tensor::empty({rows, projection_width(w)}, d_in_dtype, dev);
  if (w.act == MlpActivation::SwiGLU)
    ops::swiglu_backward(in_out, dact, d_in);
  else
    ops::relu2_backward(in_out, dact, d_in);
  if (w.n_blocks == 1) return ops::linear_backward(w.in[0], d_in, groups, dx, accumulate);
  int64_t col = 0;
  for (size_t b = 0; b < w.n_blocks; ++b) {
    const Tensor part = ops::copy_columns(ops::columns(d_in, col, w.in[b].out));
    ops::linear_backward(w.in[b], part, groups, dx, accumulate || b > 0);
    col += w.in[b].out;
  }
}

}  // namespace s0
