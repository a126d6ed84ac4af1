#pragma once
// The loop the row-wise kernels share (ops/cpu/rowwise_gemm.h, ops/cpu/rowwise_bf16.h): column
// tiles of the output outermost, spread over the threads, so that each row of W is read from memory
// once and meets every x_i from cache; row tiles inside. A tile's dot products come from the kernel;
// the bias and the add to y are applied here, in T (float, or double for the precise products).
#include <algorithm>
#include <cstdint>

namespace s0::ops::cpu {

// tile(i0, rows, j0, cols, d) writes d[r * C + c] = dot(x row i0 + r, w row j0 + c) for a tile of at
// most R x C; then y[i, j] = d + bias[j], added to y when `add`.
template <typename T, int R, int C, typename Tile>
void rowwise_tiles(int64_t m, int64_t in, int64_t out, const float* bias, float* y, bool add, const Tile& tile) {
  const int64_t col_tiles = (out + C - 1) / C;
#pragma omp parallel for schedule(static) if (out * in > 65536)
  for (int64_t ct = 0; ct < col_tiles; ++ct) {
    const int64_t j0 = ct * C;
    const int cols = static_cast<int>(std::min<int64_t>(C, out - j0));
    for (int64_t i0 = 0; i0 < m; i0 += R) {
      const int rows = static_cast<int>(std::min<int64_t>(R, m - i0));
      T d[R * C];
      tile(i0, rows, j0, cols, d);
      for (int r = 0; r < rows; ++r)
        for (int c = 0; c < cols; ++c) {
          T v = d[r * C + c];
          if (bias) v += static_cast<T>(bias[j0 + c]);
          float& dst = y[(i0 + r) * out + j0 + c];
          dst = static_cast<float>(add ? static_cast<T>(dst) + v : v);
        }
    }
  }
}

}  // namespace s0::ops::cpu
