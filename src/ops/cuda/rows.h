#pragma once
// Rows picked by index on the GPU (float32; tables may be bf16): ops/cpu/rows.h over device pointers. A
// gather's index is on the device (uploaded by the dispatch, or token ids a step chose there); the
// scatter's is the host's, copied to the device by the op.
#include <cstdint>
#include <vector>

namespace s0::ops::cuda {

void gather_rows(const float* table, const int64_t* index, int64_t n, int64_t d, float scale, float* dst);
// The same from a bf16 table (the embedding of a bf16 model), widened to float32.
void gather_bf16_rows(const void* table, const int64_t* index, int64_t n, int64_t d, float scale, float* dst);
// dst[i] = take[i] >= 0 ? from[take[i]] : values[i], for i < n (ops::take_or_keep_i64).
void take_or_keep_i64(const std::vector<int64_t>& values, const int64_t* from, const std::vector<int64_t>& take,
                      int64_t* dst);
// Deterministic: each destination row is owned by one thread per column, which adds its sources in
// index order (the CPU's order); no atomics.
void scatter_add_rows(const float* src, const int64_t* host_index, int64_t n, int64_t d, float scale, float* dst);
void scale(float* x, int64_t n, float s);
// dst[n] += srcs[0][n], += srcs[1][n], ... in that order, in one pass.
void add(float* dst, const std::vector<const float*>& srcs, int64_t n);

}  // namespace s0::ops::cuda
