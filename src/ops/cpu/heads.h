#pragma once
// Grouped heads: GatedDeltaNet's nk key heads are shared by nv = rep * nk value heads (value head h
// reads key head h / rep).
#include <cstdint>

namespace s0::ops::cpu {

// dst[N, nv, d] = scale * src[N, nk, d] repeated to the value heads.
void expand_heads(const float* src, int64_t N, int64_t nk, int64_t nv, int64_t d, float scale, float* dst);
// The adjoint: dst[N, nk, d] = scale * the sum of src[N, nv, d] over each key head's value heads.
void reduce_heads(const float* src, int64_t N, int64_t nk, int64_t nv, int64_t d, float scale, float* dst);

// GatedDeltaNet's queries and keys in one pass over the tokens (the same bits as l2norm_forward
// (ops/cpu/l2norm.h), then expand_heads): the nk key heads of x (rows of stride ldx), each
// L2-normalised (rnorm[N * nk] receives 1 / sqrt(sum x^2 + eps)), expanded to dst[N, nv, d] and
// scaled.
void l2norm_expand_heads(const float* x, int64_t ldx, int64_t N, int64_t nk, int64_t nv, int64_t d, float eps,
                         float scale, float* dst, float* rnorm);
// The adjoint in one pass (reduce_heads, then l2norm_backward): dx (rows of stride lddx) from
// dsrc[N, nv, d], with the forward's x and rnorm.
void l2norm_expand_heads_backward(const float* x, int64_t ldx, const float* rnorm, const float* dsrc, int64_t N,
                                  int64_t nk, int64_t nv, int64_t d, float scale, float* dx, int64_t lddx);

}  // namespace s0::ops::cpu
