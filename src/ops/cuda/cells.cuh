#pragma once
// Elementwise work over a [rows, cols] grid of cells: f(r, c) once per cell, consecutive threads on
// consecutive columns so that accesses within a row coalesce (strided column blocks included).
// Device code: included by .cu files only.
#include <algorithm>
#include <cstdint>

#include "ops/cuda/check.h"
#include "ops/cuda/stream.h"

namespace s0::ops::cuda {

template <typename F>
__global__ void cells_kernel(int64_t rows, int64_t cols, F f) {
  const int64_t total = rows * cols;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total; i += int64_t(gridDim.x) * blockDim.x)
    f(i / cols, i % cols);
}

// Grid-stride launch on the current GPU's stream (ops/cuda/stream.h); f is a __device__ lambda.
template <typename F>
void for_each_cell(int64_t rows, int64_t cols, F f, const char* name) {
  const int64_t total = rows * cols;
  if (total == 0) return;
  constexpr int kThreads = 256;
  const int64_t blocks = std::min<int64_t>((total + kThreads - 1) / kThreads, int64_t(132) * 32);
  cells_kernel<<<static_cast<unsigned>(blocks), kThreads, 0, stream()>>>(rows, cols, f);
  check_launch(name);
}

}  // namespace s0::ops::cuda
