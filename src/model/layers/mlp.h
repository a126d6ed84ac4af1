#pragma once
// An MLP y = down(act(in x)) over rows grouped as ops/linear.h groups them: the block's dense MLP
// (or shared expert) over the batch, and each routed expert over its rows. SwiGLU: in = [gate | up],
// act = silu(gate) * up; squared ReLU (Nemotron-H): in = up, act = relu(up)^2.
#include <cstddef>

#include "core/tensor.h"
#include "model/model.h"
#include "ops/varlen.h"

namespace s0 {

// The input projection may come in row blocks (Expert::gate_up); their outputs sit side by side in
// `in_out`[rows, width], which the backward reads.
struct MlpWeights {
  const Linear* in;  // n_blocks Linears whose outputs concatenate to the projection
  size_t n_blocks;
  const Linear& down;
  MlpActivation act = MlpActivation::SwiGLU;
};

// y[rows, hidden] (+)= mlp(x[rows, hidden]); in_out receives the input projection.
void mlp_forward(const MlpWeights& w, const ops::Varlen& groups, const Tensor& x, Tensor& y, bool add, Tensor& in_out);
// dx[rows, hidden] (+)= the input gradient for dy[rows, hidden].
void mlp_backward(const MlpWeights& w, const ops::Varlen& groups, const Tensor& in_out, const Tensor& dy, Tensor& dx,
                  bool accumulate);

}  // namespace s0
