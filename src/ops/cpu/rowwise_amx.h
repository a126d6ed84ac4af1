#pragma once
// The row-wise bf16 decode kernel (ops/cpu/rowwise_bf16.h) on AMX, the tile unit of recent Xeons:
// one TDPBF16PS multiplies a 16 x 32 block of W with 32 elements of 16 rows of x, about 50 times
// the multiply-adds per cycle of AVX-512 BF16's vdpbf16ps on the development machine, so that a
// batch of sequences costs the streaming of W and little more.
//
// Each y[i, j] is AMX's dot product of x row i and W row j, accumulated over K in blocks of 32 in
// increasing order. How the hardware sums within a block is its own (it is not a sequence of float32
// roundings that another kernel could repeat), so results differ in the last bits from the other
// kernels'. They do not depend on the tile's other rows or columns (checked on the hardware: an
// element's bits are the same whatever the tile's shape and neighbours), so on an AMX CPU a row's
// result does not depend on the batch or the thread count.
#include <cstdint>

namespace s0::ops::cpu {

// Whether this CPU has AMX-BF16 and the kernel lets this process use its tiles (asked once).
bool cpu_has_amx_bf16();

// y[i, :] = parts[0][i, :] W^T + bias (+ y when `add`), then + parts[p][i, :] W^T for each later part
// p, for m rows of bf16 x, W[out, in] bf16: the contract of ops/cpu/rowwise_tiles.h. Parallel over
// output columns. Needs cpu_has_amx_bf16().
void rowwise_amx_linear(const uint16_t* const* parts, int n_parts, int64_t m, const uint16_t* w, const float* bias,
                        int64_t in, int64_t out, float* y, bool add);

}  // namespace s0::ops::cpu
