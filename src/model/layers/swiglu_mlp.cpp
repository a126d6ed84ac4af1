#include "model/layers/swiglu_mlp.h"

#include "ops/activation.h"
#include "ops/columns.h"

namespace s0 {

void swiglu_mlp_forward(const SwigluWeights& w, const ops::Varlen& groups, const Tensor& x, Tensor& y, bool add,
                        Tensor& gu) {
  const int64_t rows = x.dim(0), I = w.down.in;
  const Device dev = x.device();
  gu = Tensor::zeros({rows, 2 * I}, DType::F32, dev);
  if (w.n_blocks == 1) {
    ops::linear_forward(w.gate_up[0], x, groups, gu);
  } else {
    int64_t col = 0;
    for (size_t b = 0; b < w.n_blocks; ++b) {
      Tensor part = Tensor::zeros({rows, w.gate_up[b].out}, DType::F32, dev);
      ops::linear_forward(w.gate_up[b], x, groups, part);
      ops::scatter_columns(part, ops::columns(gu, col, w.gate_up[b].out));
      col += w.gate_up[b].out;
    }
  }
  Tensor act = Tensor::zeros({rows, I}, DType::F32, dev);
  ops::swiglu_forward(gu, act);
  ops::linear_forward(w.down, act, groups, y, add);
}

void swiglu_mlp_backward(const SwigluWeights& w, const ops::Varlen& groups, const Tensor& gu, const Tensor& dy,
                         Tensor& dx, bool accumulate) {
  const int64_t rows = dy.dim(0), I = w.down.in;
  const Device dev = dy.device();
  Tensor dact = Tensor::zeros({rows, I}, DType::F32, dev);
  ops::linear_backward(w.down, dy, groups, dact);
  Tensor dgu = Tensor::zeros({rows, 2 * I}, DType::F32, dev);
  ops::swiglu_backward(gu, dact, dgu);
  if (w.n_blocks == 1) return ops::linear_backward(w.gate_up[0], dgu, groups, dx, accumulate);
  int64_t col = 0;
  for (size_t b = 0; b < w.n_blocks; ++b) {
    const Tensor part = ops::copy_columns(ops::columns(dgu, col, w.gate_up[b].out));
    ops::linear_backward(w.gate_up[b], part, groups, dx, accumulate || b > 0);
    col += w.gate_up[b].out;
  }
}

}  // namespace s0
