#include "ops/cuda/gates.h"

#include "ops/cuda/cells.cuh"
#include "ops/cuda/pointwise.cuh"

namespace s0::ops::cuda {

void gated_delta_gates_forward(const float* b, const float* a, int64_t ld, const float* neg_A, const float* dt_bias,
                               int64_t N, int64_t H, float* beta, float* g) {
  for_each_cell(
      N, H,
      [=] __device__(int64_t t, int64_t h) {
        beta[t * H + h] = sigmoid(b[t * ld + h]);
        g[t * H + h] = neg_A[h] * softplus(a[t * ld + h] + dt_bias[h]);
      },
      "gated_delta_gates_forward");
}

void gated_delta_gates_backward(const float* a, int64_t ld, const float* neg_A, const float* dt_bias,
                                const float* beta, const float* dbeta, const float* dg, int64_t N, int64_t H, float* db,
                                float* da) {
  for_each_cell(
      N, H,
      [=] __device__(int64_t t, int64_t h) {
        const float bt = beta[t * H + h];
        db[t * ld + h] = dbeta[t * H + h] * bt * (1.0f - bt);
        da[t * ld + h] = dg[t * H + h] * neg_A[h] * softplus_grad(a[t * ld + h] + dt_bias[h]);
      },
      "gated_delta_gates_backward");
}

void mamba2_dt_forward(const float* raw, int64_t ld, const float* dt_bias, float dt_min, float dt_max, int64_t N,
                       int64_t H, float* dt) {
  for_each_cell(
      N, H,
      [=] __device__(int64_t t, int64_t h) {
        dt[t * H + h] = fminf(fmaxf(softplus(raw[t * ld + h] + dt_bias[h]), dt_min), dt_max);
      },
      "mamba2_dt_forward");
}

void mamba2_dt_backward(const float* raw, int64_t ld, const float* dt_bias, float dt_min, float dt_max,
                        const float* ddt, int64_t N, int64_t H, float* draw) {
  for_each_cell(
      N, H,
      [=] __device__(int64_t t, int64_t h) {
        const float pre = raw[t * ld + h] + dt_bias[h];
        const float sp = softplus(pre);
        const bool inside = sp >= dt_min && sp <= dt_max;  // the clamp passes gradient inside its range only
        draw[t * ld + h] = inside ? ddt[t * H + h] * softplus_grad(pre) : 0.0f;
      },
      "mamba2_dt_backward");
}

}  // namespace s0::ops::cuda
