#pragma once
// GatedDeltaNet's grouped heads: nk key heads shared by nv value heads (value head h reads key
// head h / (nv / nk)), with the query's dk^-1/2 scale folded into the expansion.
#include "core/tensor.h"
#include "ops/columns.h"

namespace s0::ops {

// GatedDeltaNet's queries or keys from their block x[N, nk * d] of the conv output: each key head
// L2-normalised (l2norm_forward, ops/norm.h; rnorm[N * nk]), then repeated to the value heads,
// [N, nv, d], and scaled (ops/cpu/heads.h's expand_heads). One pass, reading x in place.
Tensor l2norm_expand_heads(const Columns& x, int64_t nk, int64_t nv, float eps, float scale, Tensor& rnorm);
// The adjoint, written into dx's block: the sum over each key head's value heads, times the scale
// (ops/cpu/heads.h's reduce_heads), then l2norm_backward; one pass.
void l2norm_expand_heads_backward(const Columns& x, const Tensor& rnorm, const Tensor& d_expanded, int64_t nk,
                                  float scale, const Columns& dx);

}  // namespace s0::ops
