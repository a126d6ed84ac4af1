#include "ops/cpu/linear_groups.h"

#include <cstddef>

#include "ops/cpu/gemm.h"
#include "ops/cpu/rowwise_gemm.h"

namespace s0::ops::cpu {

void linear_groups_forward(const float* x, const std::vector<int64_t>& groups, const float* w, const float* bias,
                           int64_t in, int64_t out, bool precise, float* y, bool add) {
  for (size_t g = 0; g + 1 < groups.size(); ++g) {
    const int64_t r = groups[g], n = groups[g + 1] - groups[g];
    const float* xi = x + r * in;
    float* yi = y + r * out;
    if (n == 1) {
      // A run of one-row groups (a decode step): one pass over W for all of them.
      size_t last = g;
      while (last + 2 < groups.size() && groups[last + 2] - groups[last + 1] == 1) ++last;
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

}  // namespace s0::ops::cpu
