#include "ops/cpu/rows.h"

#include "core/half.h"

namespace s0::ops::cpu {

void gather_rows(const float* table, const int64_t* index, int64_t n, int64_t d, float scale, float* dst) {
  for (int64_t i = 0; i < n; ++i) {
    const float* row = table + index[i] * d;
    for (int64_t j = 0; j < d; ++j) dst[i * d + j] = row[j] * scale;
  }
}

void gather_bf16_rows(const uint16_t* table, const int64_t* index, int64_t n, int64_t d, float scale, float* dst) {
  for (int64_t i = 0; i < n; ++i) {
    const uint16_t* row = table + index[i] * d;
    for (int64_t j = 0; j < d; ++j) dst[i * d + j] = bf16_to_f32(row[j]) * scale;
  }
}

void scatter_add_rows(const float* src, const int64_t* index, int64_t n, int64_t d, float scale, float* dst) {
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < d; ++j) dst[index[i] * d + j] += scale * src[i * d + j];
}

void scale(float* x, int64_t n, float scale) {
  for (int64_t i = 0; i < n; ++i) x[i] *= scale;
}

void add(float* dst, const float* src, int64_t n) {
  for (int64_t i = 0; i < n; ++i) dst[i] += src[i];
}

}  // namespace s0::ops::cpu
