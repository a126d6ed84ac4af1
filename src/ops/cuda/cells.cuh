#pragma once
// Elementwise work over a [rows, cols] grid of cells: f(r, c) once per cell, consecutive threads on
// consecutive columns so that accesses within a row coalesce (strided column blocks included).
// The grid is two-dimensional (x: column blocks, y: rows, striding past 65,535 rows), so no thread
// divides a flat index by the row length: a 64-bit division costs more than the cell's own work.
// Device code: included by .cu files only.
#include <algorithm>
#include <cstdint>

#include "ops/cuda/check.h"
#include "ops/cuda/dependent_launch.cuh"
#include "ops/cuda/stream.h"

namespace s0::ops::cuda {

template <typename F>
__global__ void cells_kernel(int64_t rows, int64_t cols, F f) {
  allow_dependents();  // a GEMV after it (a decode step's down projection) may start loading weights
  wait_for_predecessors();  // launched as a dependent itself: its launch overlaps the kernel before
  const int64_t c = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (c >= cols) return;
  for (int64_t r = blockIdx.y; r < rows; r += gridDim.y) f(r, c);
}

// Launch on the current GPU's stream (ops/cuda/stream.h), as a dependent of the kernel before
// (ops/cuda/dependent_launch.cuh); f is a __device__ lambda. Blocks are as
// wide as the rows need, up to 256 threads, so short rows do not leave most threads idle.
template <typename F>
void for_each_cell(int64_t rows, int64_t cols, F f, const char* name) {
  if (rows == 0 || cols == 0) return;
  const int threads = static_cast<int>(std::clamp<int64_t>((cols + 31) / 32 * 32, 32, 256));
  const dim3 grid(static_cast<unsigned>((cols + threads - 1) / threads),
                  static_cast<unsigned>(std::min<int64_t>(rows, 65535)));
  launch_dependent(cells_kernel<F>, grid, dim3(threads), 0, name, rows, cols, f);
}

}  // namespace s0::ops::cuda
