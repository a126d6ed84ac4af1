#include "ops/cuda/gates.h"

#include "core/error.h"
#include "ops/cuda/cells.cuh"
#include "ops/cuda/pointwise.cuh"
#include "ops/cuda/store.cuh"

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

namespace {

template <typename T>
void gated_delta_gates_backward_into(const float* a, int64_t ld, const float* neg_A, const float* dt_bias,
                                     const float* beta, const float* dbeta, const float* dg, int64_t N, int64_t H,
                                     T* db, T* da) {
  for_each_cell(
      N, H,
      [=] __device__(int64_t t, int64_t h) {
        const float bt = beta[t * H + h];
        store(db + t * ld + h, dbeta[t * H + h] * bt * (1.0f - bt));
        store(da + t * ld + h, dg[t * H + h] * neg_A[h] * softplus_grad(a[t * ld + h] + dt_bias[h]));
      },
      "gated_delta_gates_backward");
}

template <typename T>
void mamba2_dt_backward_into(const float* raw, int64_t ld, const float* dt_bias, float dt_min, float dt_max,
                             const float* ddt, int64_t N, int64_t H, T* draw) {
  for_each_cell(
      N, H,
      [=] __device__(int64_t t, int64_t h) {
        const float pre = raw[t * ld + h] + dt_bias[h];
        const float sp = softplus(pre);
        const bool inside = sp >= dt_min && sp <= dt_max;  // the clamp passes gradient inside its range only
        store(draw + t * ld + h, inside ? ddt[t * H + h] * softplus_grad(pre) : 0.0f);
      },
      "mamba2_dt_backward");
}

}  // namespace

// db and da: columns of one gradient, so of one dtype.
void gated_delta_gates_backward(const float* a, int64_t ld, const float* neg_A, const float* dt_bias,
                                const float* beta, const float* dbeta, const float* dg, int64_t N, int64_t H, Output db,
                                Output da) {
  if (db.bf16 != da.bf16) fail("internal: gated_delta_gates_backward's gradients in two dtypes");
  with_output(db, [&](auto* dbp) {
    gated_delta_gates_backward_into(a, ld, neg_A, dt_bias, beta, dbeta, dg, N, H, dbp, decltype(dbp)(da.data));
  });
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
                        const float* ddt, int64_t N, int64_t H, Output draw) {
  with_output(draw, [&](auto* out) { mamba2_dt_backward_into(raw, ld, dt_bias, dt_min, dt_max, ddt, N, H, out); });
}

}  // namespace s0::ops::cuda
