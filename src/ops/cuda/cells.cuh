#pragma once
// Elementwise work over a [rows, cols] grid of cells: f(r, c) once per cell, consecutive threads on
// consecutive columns so that accesses within a row coalesce (strided column blocks included).
// The grid is two-dimensional (x: column blocks, y: rows, striding past 65,535 rows), so no thread
// divides a flat index by the row length: a 64-bit division costs more than the cell's own work.
// Device code: included by .cu files only.
#include <algorithm>
#include <cstdint>
#include <initializer_list>

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

// Whether rows of float32 cells can be read four at a time (one 16-byte load): every pointer
// 16-byte aligned and every row stride and column offset (in floats) a multiple of four. A cell
// kernel that reads one float a thread runs at about half the memory bandwidth; one that takes
// four adjacent cells a thread, loading all of them before it stores any, near the full rate.
inline bool quads_fit(std::initializer_list<const void*> pointers, std::initializer_list<int64_t> strides) {
  for (const void* p : pointers)
    if (reinterpret_cast<uintptr_t>(p) % 16 != 0) return false;
  for (int64_t s : strides)
    if (s % 4 != 0) return false;
  return true;
}

// The four floats at p (16-byte aligned).
__device__ inline float4 load4(const float* p) { return *reinterpret_cast<const float4*>(p); }

// f(i, v) for each float src[i], i < n: four at a time (one 16-byte load) where src is 16-byte
// aligned, the rest one by one. A pass that reads each float once and writes it once (a rounding
// to bf16) ran at about half the memory bandwidth with one float a thread.
template <typename F>
void for_each_float(const float* src, int64_t n, F f, const char* name) {
  const int64_t q = quads_fit({src}, {}) ? n / 4 : 0;
  for_each_cell(
      1, q,
      [=] __device__(int64_t, int64_t i) {
        const float4 v = load4(src + 4 * i);
        f(4 * i, v.x);
        f(4 * i + 1, v.y);
        f(4 * i + 2, v.z);
        f(4 * i + 3, v.w);
      },
      name);
  for_each_cell(1, n - 4 * q, [=] __device__(int64_t, int64_t i) { f(4 * q + i, src[4 * q + i]); }, name);
}

}  // namespace s0::ops::cuda
