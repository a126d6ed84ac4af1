#pragma once
// A SwiGLU MLP, y = down(silu(gate x) * up x), over rows grouped as ops/linear.h groups them: the
// block's dense MLP (or shared expert) over the batch, and each routed expert over its rows.
#include <cstddef>

#include "core/tensor.h"
#include "model/model.h"
#include "ops/varlen.h"

namespace s0 {

// The [gate | up] projection may come in row blocks (Expert::gate_up); their outputs sit side by
// side in gu[rows, 2I], which the backward reads.
struct SwigluWeights {
  const Linear* gate_up;  // n_blocks Linears whose outputs concatenate to [gate | up]
  size_t n_blocks;
  const Linear& down;
};

// y[rows, hidden] (+)= mlp(x[rows, hidden]); gu receives the projection [rows, 2I].
void swiglu_mlp_forward(const SwigluWeights& w, const ops::Varlen& groups, const Tensor& x, Tensor& y, bool add,
                        Tensor& gu);
// dx[rows, hidden] (+)= the input gradient for dy[rows, hidden].
void swiglu_mlp_backward(const SwigluWeights& w, const ops::Varlen& groups, const Tensor& gu, const Tensor& dy,
                         Tensor& dx, bool accumulate);

}  // namespace s0
