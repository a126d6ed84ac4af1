#include "ops/cpu/heads.h"

namespace s0::ops::cpu {

void expand_heads(const float* src, int64_t N, int64_t nk, int64_t nv, int64_t dk, float scale, float* dst) {
  const int64_t rep = nv / nk;
  for (int64_t t = 0; t < N; ++t)
    for (int64_t h = 0; h < nv; ++h) {
      const float* s = src + (t * nk + h / rep) * dk;
      float* d = dst + (t * nv + h) * dk;
      for (int64_t i = 0; i < dk; ++i) d[i] = s[i] * scale;
    }
}

void reduce_heads(const float* src, int64_t N, int64_t nk, int64_t nv, int64_t dk, float scale, float* dst) {
  const int64_t rep = nv / nk;
  for (int64_t t = 0; t < N; ++t)
    for (int64_t kh = 0; kh < nk; ++kh) {
      float* d = dst + (t * nk + kh) * dk;
      for (int64_t i = 0; i < dk; ++i) d[i] = 0.0f;
      for (int64_t r = 0; r < rep; ++r) {
        const float* s = src + (t * nv + kh * rep + r) * dk;
        for (int64_t i = 0; i < dk; ++i) d[i] += s[i] * scale;
      }
    }
}

}  // namespace s0::ops::cpu
