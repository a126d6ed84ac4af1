#include "ops/cuda/columns.h"

#include "ops/cuda/cells.cuh"

namespace s0::ops::cuda {

void copy_cols(const float* src, int64_t n, int64_t src_stride, int64_t begin, int64_t cols, float* dst) {
  for_each_cell(
      n, cols, [=] __device__(int64_t i, int64_t j) { dst[i * cols + j] = src[i * src_stride + begin + j]; },
      "copy_columns");
}

void scatter_cols(const float* src, int64_t n, int64_t cols, float* dst, int64_t dst_stride, int64_t begin) {
  for_each_cell(
      n, cols, [=] __device__(int64_t i, int64_t j) { dst[i * dst_stride + begin + j] = src[i * cols + j]; },
      "scatter_columns");
}

}  // namespace s0::ops::cuda
