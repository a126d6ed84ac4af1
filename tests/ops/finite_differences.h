#pragma once
// Central finite differences of a float64 forward, the reference every backward is checked
// against (see op_backward_test.cpp for why these tolerances measure only float32 rounding).
#include <functional>
#include <vector>

#include "naive_ops.h"

namespace s0::naive {

constexpr double kRtol = 1e-5;
constexpr double kAtolFrac = 1e-5;

// dL/dx for L(x) = sum(dy * f(x)), by central differences in float64.
inline Vec fd_grad(const std::function<Vec(const Vec&)>& f, Vec x, const Vec& dy) {
  const double h = 1e-5;
  auto loss = [&](const Vec& at) {
    const Vec y = f(at);
    double s = 0;
    for (size_t i = 0; i < y.size(); ++i) s += dy[i] * y[i];
    return s;
  };
  Vec g(x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    const double keep = x[i];
    x[i] = keep + h;
    const double up = loss(x);
    x[i] = keep - h;
    const double down = loss(x);
    x[i] = keep;
    g[i] = (up - down) / (2 * h);
  }
  return g;
}

inline void expect_grad(const std::vector<float>& got, const Vec& want, const char* what) {
  expect_close(got, want, kRtol, kAtolFrac, what);
}

}  // namespace s0::naive
