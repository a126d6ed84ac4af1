#pragma once
// Rotary position embedding, NeoX layout: the first `rot_dim` channels of each head are split in
// two halves rotated together; the remaining channels pass through (partial rotary).
#include <cstdint>

namespace s0::ops::cpu {

// x[T, H, D] rotated in place by angle pos[t] * theta^(-2i / rot_dim) for pair i.
void rope_forward(float* x, const int64_t* pos, int64_t T, int64_t H, int64_t D, int64_t rot_dim, double theta);
// The adjoint (a rotation by the opposite angle), applied in place to a gradient.
void rope_backward(float* dx, const int64_t* pos, int64_t T, int64_t H, int64_t D, int64_t rot_dim, double theta);

}  // namespace s0::ops::cpu
