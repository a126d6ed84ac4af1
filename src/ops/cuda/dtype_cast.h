#pragma once
// Float32 to bf16 (nearest even) and back, elementwise on the GPU (plain C++, no CUDA headers).
#include <cstdint>

namespace s0::ops::cuda {

// dst[i] = bf16(src[i]), rounded to nearest even, for i < n; dst holds n bf16 elements.
void round_to_bf16(const float* src, int64_t n, void* dst);
// dst[i] = src[i] widened (exact), for i < n; src holds n bf16 elements.
void widen_bf16(const void* src, int64_t n, float* dst);

}  // namespace s0::ops::cuda
