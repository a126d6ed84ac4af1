#pragma once
// Column blocks of row-major matrices on the GPU (float32): ops/cpu/copy.h over device pointers.
#include <cstdint>

namespace s0::ops::cuda {

// dst[n, cols] = src[:, begin : begin + cols], src rows `src_stride` apart.
void copy_cols(const float* src, int64_t n, int64_t src_stride, int64_t begin, int64_t cols, float* dst);
// dst[:, begin : begin + cols] = src[n, cols], dst rows `dst_stride` apart; the adjoint of copy_cols.
void scatter_cols(const float* src, int64_t n, int64_t cols, float* dst, int64_t dst_stride, int64_t begin);

}  // namespace s0::ops::cuda
