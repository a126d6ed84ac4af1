#include "ops/cpu/heads.h"

#include <algorithm>
#include <cmath>

#include "ops/cpu/norm.h"
#include "ops/cpu/thread_cache.h"

namespace s0::ops::cpu {

namespace {

// One token's key heads summed over their value heads, times scale: reduce_heads' row.
void reduce_row(const float* src, int64_t nk, int64_t rep, int64_t d, float scale, float* dst) {
  for (int64_t kh = 0; kh < nk; ++kh) {
    float* o = dst + kh * d;
    for (int64_t i = 0; i < d; ++i) o[i] = 0.0f;
    for (int64_t r = 0; r < rep; ++r) {
      const float* s = src + (kh * rep + r) * d;
      for (int64_t i = 0; i < d; ++i) o[i] += s[i] * scale;
    }
  }
}

struct ReducedRow;  // the tag of l2norm_expand_heads_backward's per-thread row (thread_cache.h)

}  // namespace

void expand_heads(const float* src, int64_t N, int64_t nk, int64_t nv, int64_t d, float scale, float* dst) {
  const int64_t rep = nv / nk;
  for (int64_t t = 0; t < N; ++t)
    for (int64_t h = 0; h < nv; ++h) {
      const float* s = src + (t * nk + h / rep) * d;
      float* o = dst + (t * nv + h) * d;
      for (int64_t i = 0; i < d; ++i) o[i] = s[i] * scale;
    }
}

void reduce_heads(const float* src, int64_t N, int64_t nk, int64_t nv, int64_t d, float scale, float* dst) {
  for (int64_t t = 0; t < N; ++t) reduce_row(src + t * nv * d, nk, nv / nk, d, scale, dst + t * nk * d);
}

void l2norm_expand_heads(const float* x, int64_t ldx, int64_t N, int64_t nk, int64_t nv, int64_t d, float eps,
                         float scale, float* dst, float* rnorm) {
  const int64_t rep = nv / nk;
#pragma omp parallel for schedule(static) if (N * nv * d > 65536)
  for (int64_t t = 0; t < N; ++t)
    for (int64_t kh = 0; kh < nk; ++kh) {
      const float* xi = x + t * ldx + kh * d;
      double ss = 0;
      for (int64_t j = 0; j < d; ++j) ss += static_cast<double>(xi[j]) * xi[j];
      const float r = static_cast<float>(1.0 / std::sqrt(ss + eps));
      rnorm[t * nk + kh] = r;
      float* first = dst + (t * nv + kh * rep) * d;
      for (int64_t j = 0; j < d; ++j) {
        const float normed = xi[j] * r;  // rounded as l2norm_forward stores it
        first[j] = normed * scale;
      }
      for (int64_t h = 1; h < rep; ++h) std::copy_n(first, d, first + h * d);
    }
}

void l2norm_expand_heads_backward(const float* x, int64_t ldx, const float* rnorm, const float* dsrc, int64_t N,
                                  int64_t nk, int64_t nv, int64_t d, float scale, float* dx, int64_t lddx) {
#pragma omp parallel for schedule(static) if (N * nv * d > 65536)
  for (int64_t t = 0; t < N; ++t) {
    float* reduced = thread_buffer<ReducedRow>(static_cast<size_t>(nk * d));
    reduce_row(dsrc + t * nv * d, nk, nv / nk, d, scale, reduced);
    for (int64_t kh = 0; kh < nk; ++kh)
      norm_row_backward(x + t * ldx + kh * d, rnorm[t * nk + kh], 1.0, reduced + kh * d, d, dx + t * lddx + kh * d,
                        false);
  }
}

}  // namespace s0::ops::cpu
