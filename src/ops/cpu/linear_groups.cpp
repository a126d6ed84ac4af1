#include "ops/cpu/linear_groups.h"

#include <cstddef>

#include "core/half.h"
#include "ops/cpu/bf16_gemm.h"
#include "ops/cpu/gemm.h"
#include "ops/cpu/rowwise_bf16.h"
#include "ops/cpu/rowwise_gemm.h"

namespace s0::ops::cpu {

namespace {

// The index past a run of one-row groups starting at group g (a decode step: one pass over W for all).
size_t one_row_run_end(const std::vector<int64_t>& groups, size_t g) {
  size_t last = g;
  while (last + 2 < groups.size() && groups[last + 2] - groups[last + 1] == 1) ++last;
  return last;
}

}  // namespace

void linear_groups_forward(const float* x, const std::vector<int64_t>& groups, const float* w, const float* bias,
                           int64_t in, int64_t out, bool precise, float* y, bool add) {
  for (size_t g = 0; g + 1 < groups.size(); ++g) {
    const int64_t r = groups[g], n = groups[g + 1] - groups[g];
    const float* xi = x + r * in;
    float* yi = y + r * out;
    if (n == 1) {
      // A run of one-row groups (a decode step): one pass over W for all of them.
      const size_t last = one_row_run_end(groups, g);
      const int64_t rows = groups[last + 1] - r;
      if (precise) rowwise_linear_f64(xi, rows, w, bias, in, out, yi, add);
      else rowwise_linear(xi, rows, w, bias, in, out, yi, add);
      g = last;
    } else if (precise) {
      linear_forward_f64(xi, n, w, bias, in, out, yi, add);
    } else if (add) {
      linear_forward_add(xi, n, w, bias, in, out, yi);
    } else {
      linear_forward(xi, n, w, bias, in, out, yi);
    }
  }
}

void linear_groups_backward(const float* dy, const std::vector<int64_t>& groups, const float* w, int64_t in,
                            int64_t out, bool precise, float* dx, bool accumulate) {
  for (size_t g = 0; g + 1 < groups.size(); ++g) {
    const int64_t r = groups[g], n = groups[g + 1] - groups[g];
    if (precise) linear_backward_f64(dy + r * out, n, w, in, out, dx + r * in, accumulate);
    else linear_backward(dy + r * out, n, w, in, out, dx + r * in, accumulate);
  }
}

namespace {

// x[n] as bf16 parts, in this thread's reused buffers: the high part (x rounded), and for a precise
// layer the low part (x - high, rounded).
struct Bf16Parts {
  const uint16_t* high = nullptr;
  const uint16_t* low = nullptr;
};
Bf16Parts bf16_parts(const float* x, int64_t n, bool precise) {
  thread_local std::vector<uint16_t> high, low;
  if (high.size() < static_cast<size_t>(n)) high.resize(static_cast<size_t>(n));
  if (precise && low.size() < static_cast<size_t>(n)) low.resize(static_cast<size_t>(n));
  // Pointers, not the thread_local names: those would be each OpenMP thread's own (empty) buffers.
  uint16_t* hi = high.data();
  uint16_t* lo = precise ? low.data() : nullptr;
#pragma omp parallel for schedule(static) if (n > 65536)
  for (int64_t i = 0; i < n; ++i) {
    hi[i] = f32_to_bf16(x[i]);
    if (lo) lo[i] = f32_to_bf16(x[i] - bf16_to_f32(hi[i]));
  }
  return {hi, lo};
}

// y (+)= x W^T (+ bias) for x in bf16 parts, per group as linear_groups_forward does; a low part's
// products are added after the high part's.
void bf16_products(const Bf16Parts& x, const std::vector<int64_t>& groups, const uint16_t* w, const float* bias,
                   int64_t in, int64_t out, float* y, bool add) {
  for (size_t g = 0; g + 1 < groups.size(); ++g) {
    const int64_t r = groups[g], n = groups[g + 1] - groups[g];
    const uint16_t* high = x.high + r * in;
    float* yi = y + r * out;
    if (n == 1) {
      const size_t last = one_row_run_end(groups, g);
      const int64_t rows = groups[last + 1] - r;
      if (x.low) rowwise_bf16_linear_split(high, x.low + r * in, rows, w, bias, in, out, yi, add);
      else rowwise_bf16_linear(high, rows, w, bias, in, out, yi, add);
      g = last;
      continue;
    }
    if (bias)
      for (int64_t i = 0; i < n; ++i)
        for (int64_t j = 0; j < out; ++j) yi[i * out + j] = add ? yi[i * out + j] + bias[j] : bias[j];
    bf16_gemm(n, out, in, high, w, /*trans_b=*/true, yi, add || bias);
    if (x.low) bf16_gemm(n, out, in, x.low + r * in, w, /*trans_b=*/true, yi, /*accumulate=*/true);
  }
}

}  // namespace

void linear_groups_forward_bf16(const float* x, const std::vector<int64_t>& groups, const uint16_t* w,
                                const float* bias, int64_t in, int64_t out, bool precise, float* y, bool add) {
  bf16_products(bf16_parts(x, groups.back() * in, precise), groups, w, bias, in, out, y, add);
}

void linear_groups_backward_bf16(const float* dy, const std::vector<int64_t>& groups, const uint16_t* w, int64_t in,
                                 int64_t out, float* dx, bool accumulate) {
  const Bf16Parts parts = bf16_parts(dy, groups.back() * out, /*precise=*/false);
  for (size_t g = 0; g + 1 < groups.size(); ++g) {
    const int64_t r = groups[g], n = groups[g + 1] - groups[g];
    bf16_gemm(n, in, out, parts.high + r * out, w, /*trans_b=*/false, dx + r * in, accumulate);
  }
}

}  // namespace s0::ops::cpu
