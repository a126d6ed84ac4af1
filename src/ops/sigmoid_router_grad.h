#pragma once
// The sigmoid router's backward for one token row (ops/moe.h's route_sigmoid_grouped), one function
// for the CPU and the CUDA kernel: both sum the same terms in the same order, in double.
#include <cstdint>

#include "ops/host_device.h"

namespace s0::ops {

// dl[E] (overwritten) from dw[k], for the row's sigmoid scores s[E], chosen experts ex[k] and their
// weights w[k]. w_j = scale s_j / Z (Z = the chosen scores' sum + 1e-20) under normalisation, so
// dL/ds_j = (scale dw_j - sum_i w_i dw_i) / Z; else scale dw_j. Then ds/dl = s (1 - s); experts
// not chosen get no gradient (the choice itself is piecewise constant).
S0_HOST_DEVICE inline void sigmoid_router_row_grad(const float* s, const int64_t* ex, const float* w, const float* dw,
                                                   int64_t E, int64_t k, bool normalize, double scale, float* dl) {
  double wdw = 0, Z = 1e-20;
  for (int64_t j = 0; j < k; ++j) {
    wdw += static_cast<double>(w[j]) * dw[j];
    Z += s[ex[j]];
  }
  for (int64_t e = 0; e < E; ++e) dl[e] = 0.0f;
  for (int64_t j = 0; j < k; ++j) {
    const double ds = normalize ? (scale * dw[j] - wdw) / Z : scale * dw[j];
    const double sj = s[ex[j]];
    dl[ex[j]] = static_cast<float>(ds * sj * (1.0 - sj));
  }
}

}  // namespace s0::ops
