#pragma once
// y[rows, out] (+)= x[rows, in] W^T + bias for a few rows (a decode step) and a bf16 W[out, in]:
// the float32 rows are multiplied as they are (not rounded to bf16) with float32 accumulation.
// Decode steps are bound by reading W; cuBLAS's skinny GEMMs reached about 60% of the memory's
// bandwidth at the 4B decode shape, plus a rounding pass per input and split-K reductions. Here
// each warp streams kGemvOutputs rows of W at once with 16-byte loads and dots them with every input
// row (read through the cache, shared by all warps, each chunk once for those outputs), so W is
// read once at close to the bandwidth. Each output is summed lane by lane in order, then by a fixed
// shuffle tree: the same bits run to run, and a row's result does not depend on the other rows.
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
