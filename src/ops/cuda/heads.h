#pragma once
// GatedDeltaNet's grouped heads on the GPU (float32): ops/cpu/heads.h over device pointers.
#include <cstdint>

namespace s0::ops::cuda {

void expand_heads(const float* src, int64_t N, int64_t nk, int64_t nv, int64_t d, float scale, float* dst);
void reduce_heads(const float* src, int64_t N, int64_t nk, int64_t nv, int64_t d, float scale, float* dst);

}  // namespace s0::ops::cuda
