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
// The blocks are persistent (as many as the GPU holds, each taking its share of the units that a
// block of one pass would take) and each warp keeps several steps of W loads in flight; the
// reference kernel (one block a unit, one step in flight) gives the same bits and is kept to check
// that (tests/ops/cuda_gemv_test.cpp) and to time against (bench/cuda_linear_bench.cpp).
// Host declarations only: included by bf16_linear.cu, the GEMV's test and its bench.
#include <cstdint>

namespace s0::ops::cuda {

constexpr int64_t kGemvMaxRows = 4;

// Whether the kernel takes this product: at most kGemvMaxRows rows, and rows of W and x that start
// 16-byte aligned (in a multiple of 8; the tensors' storage is 512-byte aligned).
inline bool gemv_fits(int64_t rows, int64_t in) { return rows <= kGemvMaxRows && in % 8 == 0; }

void bf16_gemv(const float* x, int64_t rows, const void* w, const float* bias, int64_t in, int64_t out, float* y,
               bool add);

// The kernels that compute the GEMV, all to the same bits: the reference (a block per unit, one
// step of W in flight a warp) and the persistent one with 2 or 3 steps in flight a warp.
enum class GemvKernel { reference, stream2, stream3 };

// The kernel bf16_gemv and the SwiGLU pairing use for `rows` rows. Measured on an H100 over the
// Qwen3.5-4B decode step's 129 products (cuda_linear_bench gemv, 2026-11-28): one row, reference /
// stream2 / stream3 / stream4 3.41 / 3.07 / 3.01 / 3.08 ms; four rows 4.96 / 3.88 / 4.14 / 5.06 ms
// (four steps in flight never won and were dropped). Alone, the MLP's [gate; up] of one row was
// faster with two steps (33.3 against 34.7 us), but inside the decode step two steps for it made
// batch 1 slower (4.00 -> 4.22 ms, decode_bench in one call; likely because a dependent launch loads
// its first steps of W before its predecessor ends, so the deeper ring overlaps more of the step).
inline GemvKernel gemv_kernel_for(int64_t rows) { return rows == 1 ? GemvKernel::stream3 : GemvKernel::stream2; }

// bf16_gemv through a given kernel; with units > 0, W = [gate; up] (out = 2 units) and h[rows,
// units] = silu(gate) * up as bf16_linear_swiglu_forward writes it (units then as
// bf16_swiglu_fits asks).
void bf16_gemv_with(GemvKernel kernel, const float* x, int64_t rows, const void* w, const float* bias, int64_t in,
                    int64_t out, float* y, bool add, int64_t units, float* h);

}  // namespace s0::ops::cuda
