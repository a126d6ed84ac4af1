#pragma once
// Grouped heads: GatedDeltaNet's nk key heads are shared by nv = rep * nk value heads (value head h
// reads key head h / rep).
#include <cstdint>

namespace s0::ops::cpu {

// dst[N, nv, d] = scale * src[N, nk, d] repeated to the value heads.
void expand_heads(const float* src, int64_t N, int64_t nk, int64_t nv, int64_t d, float scale, float* dst);
// The adjoint: dst[N, nk, d] = scale * the sum of src[N, nv, d] over each key head's value heads.
void reduce_heads(const float* src, int64_t N, int64_t nk, int64_t nv, int64_t d, float scale, float* dst);

}  // namespace s0::ops::cpu
