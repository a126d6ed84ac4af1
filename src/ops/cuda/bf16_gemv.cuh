#pragma once
// y[rows, out] (+)= x[rows, in] W^T + bias for a few rows (a decode step) and a bf16 W[out, in]:
// the float32 rows are multiplied as they are (not rounded to bf16) with float32 accumulation.
// Decode steps are bound by reading W; cuBLAS's skinny GEMMs reached about 60% of the memory's
// bandwidth at the 4B decode shape, plus a rounding pass per input and split-K reductions. Here
// each warp streams kOutputs rows of W at once with 16-byte loads and dots them with every input
// row (read through the cache, shared by all warps), so W is read once. A narrow W (too few warps
// to keep the memory busy) has its rows' length split over the warps of a block. Each lane sums
// its pieces in order, a warp by a fixed shuffle tree, a block its warps' totals in warp order:
// the same bits run to run, and a row's result does not depend on the other rows.
// Included by bf16_linear.cu only.
#include <cstdint>

namespace s0::ops::cuda {

constexpr int64_t kGemvMaxRows = 4;

// Whether the kernel takes this product: at most kGemvMaxRows rows, and rows of W and x that start
// 16-byte aligned (in a multiple of 8; the tensors' storage is 512-byte aligned).
inline bool gemv_fits(int64_t rows, int64_t in) { return rows <= kGemvMaxRows && in % 8 == 0; }

void bf16_gemv(const float* x, int64_t rows, const void* w, const float* bias, int64_t in, int64_t out, float* y,
               bool add);

}  // namespace s0::ops::cuda
