#include "ops/cuda/columns.h"

#include "ops/cuda/cells.cuh"

namespace s0::ops::cuda {

// Four columns a thread where the rows allow it (cells.cuh's quads_fit), else one.
void copy_cols(const float* src, int64_t n, int64_t src_stride, int64_t begin, int64_t cols, float* dst) {
  if (quads_fit({src, dst}, {src_stride, begin, cols}))
    return for_each_cell(
        n, cols / 4,
        [=] __device__(int64_t i, int64_t q) {
          *reinterpret_cast<float4*>(dst + i * cols + 4 * q) = load4(src + i * src_stride + begin + 4 * q);
        },
        "copy_columns");
  for_each_cell(
      n, cols, [=] __device__(int64_t i, int64_t j) { dst[i * cols + j] = src[i * src_stride + begin + j]; },
      "copy_columns");
}

void scatter_cols(const float* src, int64_t n, int64_t cols, float* dst, int64_t dst_stride, int64_t begin) {
  if (quads_fit({src, dst}, {dst_stride, begin, cols}))
    return for_each_cell(
        n, cols / 4,
        [=] __device__(int64_t i, int64_t q) {
          *reinterpret_cast<float4*>(dst + i * dst_stride + begin + 4 * q) = load4(src + i * cols + 4 * q);
        },
        "scatter_columns");
  for_each_cell(
      n, cols, [=] __device__(int64_t i, int64_t j) { dst[i * dst_stride + begin + j] = src[i * cols + j]; },
      "scatter_columns");
}

}  // namespace s0::ops::cuda
