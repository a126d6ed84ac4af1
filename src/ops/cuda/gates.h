#pragma once
// The recurrent mixers' per-head gates on the GPU (float32): ops/cpu/gates.h's arguments over
// device pointers, raw inputs and their gradients in columns of rows `ld` apart (the gradients
// float32 or bf16: the input projection's operand, ops/cuda/output.h).
#include <cstdint>

#include "ops/cuda/output.h"

namespace s0::ops::cuda {

void gated_delta_gates_forward(const float* b, const float* a, int64_t ld, const float* neg_A, const float* dt_bias,
                               int64_t N, int64_t H, float* beta, float* g);
void gated_delta_gates_backward(const float* a, int64_t ld, const float* neg_A, const float* dt_bias,
                                const float* beta, const float* dbeta, const float* dg, int64_t N, int64_t H, Output db,
                                Output da);

void mamba2_dt_forward(const float* raw, int64_t ld, const float* dt_bias, float dt_min, float dt_max, int64_t N,
                       int64_t H, float* dt);
void mamba2_dt_backward(const float* raw, int64_t ld, const float* dt_bias, float dt_min, float dt_max,
                        const float* ddt, int64_t N, int64_t H, Output draw);

}  // namespace s0::ops::cuda
