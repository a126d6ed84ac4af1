#pragma once
// GatedDeltaNet's grouped heads: nk key heads shared by nv value heads (value head h reads key
// head h / (nv / nk)), with the query's dk^-1/2 scale folded into the expansion.
#include "core/tensor.h"

namespace s0::ops {

// [N, nv, d] = scale * src[N, nk, d] repeated to the value heads.
Tensor expand_heads(const Tensor& src, int64_t nv, float scale);
// The adjoint: [N, nk, d] = scale * the sum of src[N, nv, d] over each key head's value heads.
Tensor reduce_heads(const Tensor& src, int64_t nk, float scale);

}  // namespace s0::ops
