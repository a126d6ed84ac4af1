#pragma once
// Picking rows of a row-major matrix by index, and the adjoint.
#include <cstdint>

namespace s0::ops::cpu {

// dst[n, d] = scale * table[index[i]]: the embedding lookup (scale: an embedding multiplier), and
// the LM head's choice of rows (scale 1).
void gather_rows(const float* table, const int64_t* index, int64_t n, int64_t d, float scale, float* dst);
// The same from a bf16 table (an embedding kept as the checkpoint stores it), widened exactly.
void gather_bf16_rows(const uint16_t* table, const int64_t* index, int64_t n, int64_t d, float scale, float* dst);
// dst[index[i]] += scale * src[i, d]: the adjoint of gather_rows.
void scatter_add_rows(const float* src, const int64_t* index, int64_t n, int64_t d, float scale, float* dst);
// x[n] *= scale.
void scale(float* x, int64_t n, float scale);
// dst[n] += src[n].
void add(float* dst, const float* src, int64_t n);

}  // namespace s0::ops::cpu
