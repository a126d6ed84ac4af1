#include "ops/cuda/heads.h"

#include "ops/cuda/cells.cuh"

namespace s0::ops::cuda {

// A cell is one (token, head) row and one channel; value head h reads key head h / rep.
void expand_heads(const float* src, int64_t N, int64_t nk, int64_t nv, int64_t d, float scale, float* dst) {
  const int64_t rep = nv / nk;
  for_each_cell(
      N * nv, d,
      [=] __device__(int64_t row, int64_t i) {
        const int64_t t = row / nv, h = row % nv;
        dst[row * d + i] = src[(t * nk + h / rep) * d + i] * scale;
      },
      "expand_heads");
}

// Each output owns its sum over the key head's value heads, added in the CPU's order: no atomics.
void reduce_heads(const float* src, int64_t N, int64_t nk, int64_t nv, int64_t d, float scale, float* dst) {
  const int64_t rep = nv / nk;
  for_each_cell(
      N * nk, d,
      [=] __device__(int64_t row, int64_t i) {
        const int64_t t = row / nk, kh = row % nk;
        float acc = 0.0f;
        for (int64_t r = 0; r < rep; ++r) acc += src[(t * nv + kh * rep + r) * d + i] * scale;
        dst[row * d + i] = acc;
      },
      "reduce_heads");
}

}  // namespace s0::ops::cuda
