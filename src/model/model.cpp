#include "model/model.h"

#include "ops/cpu/gemm.h"
#include "ops/cpu/rowwise_gemm.h"

namespace s0 {

void linear_forward(const Linear& l, const float* x, const RowGroups& groups, float* y, bool add) {
  for (size_t g = 0; g + 1 < groups.size(); ++g) {
    const int64_t r = groups[g], n = groups[g + 1] - groups[g];
    const float* xi = x + r * l.in;
    float* yi = y + r * l.out;
    if (n == 1) {
      // A run of one-row groups (a decode step): one pass over W for all of them.
      size_t last = g;
      while (last + 2 < groups.size() && groups[last + 2] - groups[last + 1] == 1) ++last;
      const int64_t rows = groups[last + 1] - r;
      if (l.precise) ops::rowwise_linear_f64(xi, rows, l.w.f32(), l.bias(), l.in, l.out, yi, add);
      else ops::rowwise_linear(xi, rows, l.w.f32(), l.bias(), l.in, l.out, yi, add);
      g = last;
    } else if (l.precise) {
      ops::linear_forward_f64(xi, n, l.w.f32(), l.bias(), l.in, l.out, yi, add);
    } else if (add) {
      ops::linear_forward_add(xi, n, l.w.f32(), l.bias(), l.in, l.out, yi);
    } else {
      ops::linear_forward(xi, n, l.w.f32(), l.bias(), l.in, l.out, yi);
    }
  }
}

void linear_backward(const Linear& l, const float* dy, const RowGroups& groups, float* dx, bool accumulate) {
  for (size_t g = 0; g + 1 < groups.size(); ++g) {
    const int64_t r = groups[g], n = groups[g + 1] - groups[g];
    if (l.precise) {
      ops::linear_backward_f64(dy + r * l.out, n, l.w.f32(), l.in, l.out, dx + r * l.in, accumulate);
    } else {
      ops::linear_backward(dy + r * l.out, n, l.w.f32(), l.in, l.out, dx + r * l.in, accumulate);
    }
  }
}

int64_t HybridModel::state_parameter_count() const {
  int64_t n = 0;
  for (const RecurrentLayer& r : recurrent) n += numel_of(r.state_shape);
  return n;
}

int HybridModel::recurrent_slot_of_layer(int layer) const {
  for (size_t i = 0; i < recurrent.size(); ++i)
    if (recurrent[i].layer == layer) return static_cast<int>(i);
  return -1;
}

}  // namespace s0
