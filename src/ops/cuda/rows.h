#pragma once
// Rows picked by index on the GPU (float32; tables may be bf16): ops/cpu/rows.h over device pointers. The indices are
// the host's (token ids, picked positions) and are copied to the device by the op.
#include <cstdint>
#include <vector>

namespace s0::ops::cuda {

void gather_rows(const float* table, const int64_t* host_index, int64_t n, int64_t d, float scale, float* dst);
// The same from a bf16 table (the embedding of a bf16 model), widened to float32.
void gather_bf16_rows(const void* table, const int64_t* host_index, int64_t n, int64_t d, float scale, float* dst);
// Deterministic: each destination row is owned by one thread per column, which adds its sources in
// index order (the CPU's order); no atomics.
void scatter_add_rows(const float* src, const int64_t* host_index, int64_t n, int64_t d, float scale, float* dst);
void scale(float* x, int64_t n, float s);
// dst[n] += srcs[0][n], += srcs[1][n], ... in that order, in one pass.
void add(float* dst, const std::vector<const float*>& srcs, int64_t n);

}  // namespace s0::ops::cuda
