#pragma once
// bf16 x bf16 -> float32 matrix products (float32 accumulation) through oneDNN, whose matmul picks
// its AMX or AVX-512 BF16 kernels from the CPU's features at run time (and falls back to slower
// kernels on CPUs without them, with the same contract below).
//
// A product is cut into tiles of C of a fixed size, each computed by one oneDNN call over the whole
// of K that runs on one thread (its plan made for one thread: no split of K), and the tiles are
// spread over the OpenMP threads. So an element of C depends only on its row of A, its column of B
// and the tile grid, which depends on m, n and k alone: never on the thread count. (oneDNN plans a
// call for the threads it is given, and may split K over them, which changes the rounding.)
#include <cstdint>

namespace s0::ops::cpu {

// c[m, n] = a op(b), added to c when `accumulate`; a is [m, k] row-major bf16; b is [n, k] when
// `trans_b` (a weight W[out, in] in y = x W^T), else [k, n]; c has leading dimension n.
void bf16_gemm(int64_t m, int64_t n, int64_t k, const uint16_t* a, const uint16_t* b, bool trans_b, float* c,
               bool accumulate);

}  // namespace s0::ops::cpu
