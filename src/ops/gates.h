#pragma once
// The recurrent mixers' per-head gates, reading their raw inputs in place from columns of the
// fused input projection; each backward writes its gradient into the same columns of the
// projection's gradient (on a GPU float32 or bf16: that GEMM's operand, ops::linear_grad_dtype).
#include "core/tensor.h"
#include "ops/columns.h"

namespace s0::ops {

// GatedDeltaNet: write strength beta[N, H] = sigmoid(b); log decay g[N, H] =
// neg_A * softplus(a + dt_bias), with neg_A = -exp(A_log).
void gated_delta_gates_forward(const Columns& b, const Columns& a, const Tensor& neg_A, const Tensor& dt_bias,
                               Tensor& beta, Tensor& g);
void gated_delta_gates_backward(const Columns& a, const Tensor& neg_A, const Tensor& dt_bias, const Tensor& beta,
                                const Tensor& dbeta, const Tensor& dg, const Columns& db, const Columns& da);

// Mamba-2: dt[N, H] = clamp(softplus(raw + dt_bias), dt_min, dt_max).
void mamba2_dt_forward(const Columns& raw, const Tensor& dt_bias, float dt_min, float dt_max, Tensor& dt);
// The clamp passes gradient inside its range only.
void mamba2_dt_backward(const Columns& raw, const Tensor& dt_bias, float dt_min, float dt_max, const Tensor& ddt,
                        const Columns& draw);

}  // namespace s0::ops
