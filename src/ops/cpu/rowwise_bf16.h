#pragma once
// The row-wise decode kernel (ops/cpu/rowwise_gemm.h) for bf16 weights and bf16 activations, with
// float32 accumulation: y[i, :] = x[i, :] W^T (+ b), every row through one pass over W.
//
// Two orders of summation, each fixed per CPU:
// - Where the CPU has AMX (ops/cpu/rowwise_amx.h), AMX's tile dot products, whose order within a
//   block of 32 is the hardware's own: the bits are those of AMX CPUs only.
// - Elsewhere every y[i, j] is summed in the order of AVX-512 BF16's dot product (vdpbf16ps): 16
//   float32 lanes, lane l taking the pairs k = 32 t + 2 l, 32 t + 2 l + 1 for t = 0, 1, ..., the odd
//   element's product added first, each product (exact in float32) added with one rounding; a tail
//   is zero-padded; then a fixed pairwise sum of the lanes. The portable kernel (AVX2 and FMA, which
//   the build targets) does the same arithmetic with fused multiply-adds, so the two give the same
//   bits (vdpbf16ps flushes subnormal inputs and results to zero: only there can they differ).
// Either way a row's result does not depend on the other rows of the call or on the thread count.
#include <cstdint>

namespace s0::ops::cpu {

enum class Bf16DotKernel { Amx, Avx512Bf16, Portable };

// Whether this CPU has AVX-512 BF16, asked once at run time.
bool cpu_has_avx512_bf16();

// x[m, in], W[out, in] bf16; y[m, out] = x W^T + bias (bias may be null), added to y when `add`.
// Parallel over output columns. The kernel is AMX where the CPU has it, else AVX-512 BF16 where it
// has that, else the portable one.
void rowwise_bf16_linear(const uint16_t* x, int64_t m, const uint16_t* w, const float* bias, int64_t in, int64_t out,
                         float* y, bool add);
// The same with a chosen kernel (tests compare them; Amx needs cpu_has_amx_bf16(), Avx512Bf16
// cpu_has_avx512_bf16()).
void rowwise_bf16_linear(const uint16_t* x, int64_t m, const uint16_t* w, const float* bias, int64_t in, int64_t out,
                         float* y, bool add, Bf16DotKernel kernel);

// A precise layer's product (ops/cpu/linear_groups.h): x in two bf16 parts, high and low, each
// [m, in]; y = (high W^T + bias) (+ y when `add`), then + low W^T: the bits of the call above for
// high followed by one for low with add, but in one pass over W (a decode step's time is the
// weights' streaming, and these projections are the largest of a recurrent layer).
void rowwise_bf16_linear_split(const uint16_t* high, const uint16_t* low, int64_t m, const uint16_t* w,
                               const float* bias, int64_t in, int64_t out, float* y, bool add);

}  // namespace s0::ops::cpu
