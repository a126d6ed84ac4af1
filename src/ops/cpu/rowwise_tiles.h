#pragma once
// The loop the row-wise kernels share (ops/cpu/rowwise_gemm.h, ops/cpu/rowwise_bf16.h): column
// tiles of the output outermost, spread over the threads, so that each row of W is read from memory
// once and meets every x_i from cache; row tiles inside. A tile's dot products come from the kernel;
// the bias and the add to y are applied here, in T (float, or double for the precise products).
#include <algorithm>
#include <cstdint>

namespace s0::ops::cpu {

// tile(part, i0, rows, j0, cols, d) writes d[r * C + c] = dot(row i0 + r of x's part `part`, w row
// j0 + c) for a tile of at most R x C. x has `parts` parts of m rows (the precise bf16 layers split x
// into a high and a low part, ops/cpu/linear_groups.h): y[i, j] = part 0's d + bias[j], added to y
// when `add`; each later part's d is then added, as separate calls in part order would add it, but
// while the column tile's rows of W are still in cache: W is read from memory once for all parts.
template <typename T, int R, int C, typename Tile>
void rowwise_tiles(int64_t m, int64_t in, int64_t out, const float* bias, float* y, bool add, int parts,
                   const Tile& tile) {
  const int64_t col_tiles = (out + C - 1) / C;
#pragma omp parallel for schedule(static) if (out * in > 65536)
  for (int64_t ct = 0; ct < col_tiles; ++ct) {
    const int64_t j0 = ct * C;
    const int cols = static_cast<int>(std::min<int64_t>(C, out - j0));
    for (int part = 0; part < parts; ++part)
      for (int64_t i0 = 0; i0 < m; i0 += R) {
        const int rows = static_cast<int>(std::min<int64_t>(R, m - i0));
        T d[R * C];
        tile(part, i0, rows, j0, cols, d);
        for (int r = 0; r < rows; ++r)
          for (int c = 0; c < cols; ++c) {
            T v = d[r * C + c];
            if (bias && part == 0) v += static_cast<T>(bias[j0 + c]);
            float& dst = y[(i0 + r) * out + j0 + c];
            dst = static_cast<float>(add || part > 0 ? static_cast<T>(dst) + v : v);
          }
      }
  }
}

}  // namespace s0::ops::cpu
