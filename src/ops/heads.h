#pragma once
// GatedDeltaNet's grouped heads: nk key heads shared by nv value heads (value head h reads key
// head h / (nv / nk)), with the query's dk^-1/2 scale folded into the expansion.
#include "core/tensor.h"
#include "ops/columns.h"

namespace s0::ops {

// [N, nv, d] = scale * src[N, nk, d] repeated to the value heads.
Tensor expand_heads(const Tensor& src, int64_t nv, float scale);
// The adjoint: [N, nk, d] = scale * the sum of src[N, nv, d] over each key head's value heads.
Tensor reduce_heads(const Tensor& src, int64_t nk, float scale);

// GatedDeltaNet's queries or keys from their block x[N, nk * d] of the conv output: each key head
// L2-normalised (l2norm_forward, ops/norm.h; rnorm[N * nk]), then expanded to [N, nv, d] and scaled
// (expand_heads). One pass, reading x in place.
Tensor l2norm_expand_heads(const Columns& x, int64_t nk, int64_t nv, float eps, float scale, Tensor& rnorm);
// The adjoint, written into dx's block: reduce_heads, then l2norm_backward.
void l2norm_expand_heads_backward(const Columns& x, const Tensor& rnorm, const Tensor& d_expanded, int64_t nk,
                                  float scale, const Columns& dx);

}  // namespace s0::ops
