#pragma once
// The MLP's fused input projection and its SwiGLU: gu = x W^T + b for W = [gate; up] (the
// projection's output, which the backward keeps) and h = silu(gate) * up (the down projection's
// input). In a decode step on a GPU (a bf16 W, at most four rows) one kernel writes both, sparing the
// activation's own kernel; everywhere else they are the projection and then swiglu_forward. Same
// bits either way.
#include "core/tensor.h"
#include "ops/linear.h"
#include "ops/varlen.h"

namespace s0::ops {

// gu[rows, 2 I] and h[rows, I] (h in any dtype swiglu_forward writes), for gate_up.out = 2 I.
void linear_swiglu_forward(const Linear& gate_up, const Tensor& x, const Varlen& groups, Tensor& gu, Tensor& h);

}  // namespace s0::ops
