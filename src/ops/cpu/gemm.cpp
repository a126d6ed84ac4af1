#include "ops/cpu/gemm.h"

#include <cblas.h>

#include <algorithm>
#include <vector>

#include "ops/cpu/thread_cache.h"

namespace s0::ops::cpu {

namespace {

// Results must not depend on the thread count. OpenBLAS's own threading does not promise that: with
// OpenBLAS 0.3.21 (Debian 12) a threaded dgemm of [513 x 257] x [257 x 1031] rounds differently with
// 2, 3 and 4 threads than with 1 (measured; sgemm matched on the shapes tried, but nothing documents
// it). So every product is cut into tiles of C whose shape depends on the product's shape only, each
// computed by one BLAS call over the whole of K, and the tiles are spread over the OpenMP threads. A
// BLAS call made inside a parallel region runs single-threaded (OpenBLAS's OpenMP build), so a tile's
// result depends on its operands only, never on how many threads there are or which one ran it.
struct TileShape {
  int64_t rows, cols;
};

// Every BLAS call packs its share of op(B) (for a linear layer, the weights) afresh, so the fewer row
// tiles, the fewer times the weights are read and packed: a product of at least kWide columns (room
// for four column tiles, enough to share among threads) takes tiles of up to kTallRows rows, split
// evenly (300-row products at Qwen3.5-0.8B's MLP and output-projection shapes, forward and
// backward, ran 1.2-2.4x faster so than in 64-row tiles, one and two threads, measured in alternating
// pairs). Narrower products (attention's per-head products) keep short tiles, which leave work for
// every thread.
// Each call also packs its share of op(A) (the activations) afresh, once per column tile: wide
// products take wider column tiles, up to about kMaxTileCols: the columns are cut into a multiple of
// kColTileGroup tiles (so that 2, 4 or 8 threads get about equal shares), rounded up to 16 columns
// (the last tile takes what is left), never narrower than kTileCols.
constexpr int64_t kTileCols = 256, kMaxTileCols = 1024, kColTileGroup = 8, kWide = 4 * kTileCols, kTallRows = 512,
                  kShortRows = 64;

int64_t round_up(int64_t v, int64_t to) { return (v + to - 1) / to * to; }

TileShape float_tiles(int64_t m, int64_t n) {
  if (n < kWide) return {kShortRows, kTileCols};
  const int64_t row_tiles = (m + kTallRows - 1) / kTallRows;
  const int64_t col_tiles = round_up((n + kMaxTileCols - 1) / kMaxTileCols, kColTileGroup);
  return {(m + row_tiles - 1) / row_tiles, std::max(kTileCols, round_up((n + col_tiles - 1) / col_tiles, 16))};
}

// Runs tile(i0, rows, j0, cols) for every tile of an [m, n] output.
template <typename Tile>
void for_each_tile(int64_t m, int64_t n, TileShape shape, const Tile& tile) {
  const int64_t row_tiles = (m + shape.rows - 1) / shape.rows, col_tiles = (n + shape.cols - 1) / shape.cols;
  // Always a parallel region, even for one tile: it is what keeps OpenBLAS single-threaded.
#pragma omp parallel for schedule(static) collapse(2)
  for (int64_t ti = 0; ti < row_tiles; ++ti)
    for (int64_t tj = 0; tj < col_tiles; ++tj) {
      const int64_t i0 = ti * shape.rows, j0 = tj * shape.cols;
      tile(i0, std::min(shape.rows, m - i0), j0, std::min(shape.cols, n - j0));
    }
}

// Where row i0 of op(A) and column j0 of op(B) start in row-major storage.
template <typename T>
const T* rows_of(const T* a, bool trans, int64_t i0, int64_t ld) { return trans ? a + i0 : a + i0 * ld; }
template <typename T>
const T* cols_of(const T* b, bool trans, int64_t j0, int64_t ld) { return trans ? b + j0 * ld : b + j0; }

CBLAS_TRANSPOSE op(bool trans) { return trans ? CblasTrans : CblasNoTrans; }

}  // namespace

void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
          const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  if (m == 0 || n == 0) return;
  for_each_tile(m, n, float_tiles(m, n), [&](int64_t i0, int64_t rows, int64_t j0, int64_t cols) {
    cblas_sgemm(CblasRowMajor, op(trans_a), op(trans_b), static_cast<blasint>(rows), static_cast<blasint>(cols),
                static_cast<blasint>(k), alpha, rows_of(a, trans_a, i0, lda), static_cast<blasint>(lda),
                cols_of(b, trans_b, j0, ldb), static_cast<blasint>(ldb), beta, c + i0 * ldc + j0,
                static_cast<blasint>(ldc));
  });
}

void linear_forward(const float* x, int64_t n, const float* w, const float* bias, int64_t in, int64_t out, float* y) {
  if (bias) {
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < out; ++j) y[i * out + j] = bias[j];
  }
  gemm(false, true, n, out, in, 1.0f, x, in, w, in, bias ? 1.0f : 0.0f, y, out);
}

void linear_forward_add(const float* x, int64_t n, const float* w, const float* bias, int64_t in, int64_t out,
                        float* y) {
  if (bias) {
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < out; ++j) y[i * out + j] += bias[j];
  }
  gemm(false, true, n, out, in, 1.0f, x, in, w, in, 1.0f, y, out);
}

void linear_backward(const float* dy, int64_t n, const float* w, int64_t in, int64_t out, float* dx, bool accumulate) {
  gemm(false, false, n, in, out, 1.0f, dy, out, w, in, accumulate ? 1.0f : 0.0f, dx, in);
}

namespace {

// The double products widen their operands tile by tile, in buffers each thread keeps (tags below):
// W is never copied whole, and every widening runs on all threads. Their tiles are the float
// products' (float_tiles): for a projection, tiles of all of a sequence's rows (up to kTallRows) by
// kTileCols columns, so that each thread widens and packs a slice of W once, where the earlier
// 64 x 512 tiles packed every 512-row block of widened W once per 64 rows (with a serial widening
// between blocks): 1.9x faster at the 0.8B shape's GatedDeltaNet input projection, 300 rows,
// 2 threads. OpenBLAS's result for an element depends on its row of A, its column of B and K only,
// so the results are the same bits as with the earlier tiles (compared on the production shapes).
struct WideX;
struct WideW;
struct WideDy;
struct WideTile;

void widen(const float* src, int64_t rows, int64_t cols, int64_t ld, double* dst) {
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t e = 0; e < cols; ++e) dst[i * cols + e] = src[i * ld + e];
}

// The sum over K of the backward's products is accumulated in double over blocks of this many rows
// of W, widened one block at a time.
constexpr int64_t kWideRows = 512;

}  // namespace

void linear_forward_f64(const float* x, int64_t n, const float* w, const float* bias, int64_t in, int64_t out,
                        float* y, bool add) {
  if (n == 0) return;
  double* xd = thread_buffer<WideX, double>(static_cast<size_t>(n * in));
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i) widen(x + i * in, 1, in, in, xd + i * in);
  for_each_tile(n, out, float_tiles(n, out), [&](int64_t i0, int64_t rows, int64_t j0, int64_t cols) {
    double* wd = thread_buffer<WideW, double>(static_cast<size_t>(cols * in));
    double* yd = thread_buffer<WideTile, double>(static_cast<size_t>(rows * cols));
    widen(w + j0 * in, cols, in, in, wd);
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<blasint>(rows), static_cast<blasint>(cols),
                static_cast<blasint>(in), 1.0, xd + i0 * in, static_cast<blasint>(in), wd, static_cast<blasint>(in),
                0.0, yd, static_cast<blasint>(cols));
    for (int64_t i = 0; i < rows; ++i)
      for (int64_t j = 0; j < cols; ++j) {
        float& yij = y[(i0 + i) * out + j0 + j];
        const double v = yd[i * cols + j] + (bias ? bias[j0 + j] : 0.0);
        yij = static_cast<float>(add ? yij + v : v);
      }
  });
}

void linear_backward_f64(const float* dy, int64_t n, const float* w, int64_t in, int64_t out, float* dx,
                         bool accumulate) {
  if (n == 0) return;
  for_each_tile(n, in, float_tiles(n, in), [&](int64_t i0, int64_t rows, int64_t j0, int64_t cols) {
    double* dxd = thread_buffer<WideTile, double>(static_cast<size_t>(rows * cols));
    double* wd = thread_buffer<WideW, double>(static_cast<size_t>(kWideRows * cols));
    double* dyd = thread_buffer<WideDy, double>(static_cast<size_t>(rows * kWideRows));
    std::fill_n(dxd, rows * cols, 0.0);
    for (int64_t k0 = 0; k0 < out; k0 += kWideRows) {
      const int64_t k = std::min(kWideRows, out - k0);
      widen(w + k0 * in + j0, k, cols, in, wd);
      widen(dy + i0 * out + k0, rows, k, out, dyd);
      cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, static_cast<blasint>(rows), static_cast<blasint>(cols),
                  static_cast<blasint>(k), 1.0, dyd, static_cast<blasint>(k), wd, static_cast<blasint>(cols), 1.0,
                  dxd, static_cast<blasint>(cols));
    }
    for (int64_t i = 0; i < rows; ++i)
      for (int64_t j = 0; j < cols; ++j) {
        float& dxij = dx[(i0 + i) * in + j0 + j];
        dxij = static_cast<float>(accumulate ? dxij + dxd[i * cols + j] : dxd[i * cols + j]);
      }
  });
}

}  // namespace s0::ops::cpu
