#pragma once
// SwiGLU and attention's sigmoid output gate on the GPU (float32): ops/cpu/activation.h's and
// ops/cpu/gates.h's arguments over device pointers. The outputs a GEMM reads next may be bf16, and
// SwiGLU's inputs, which bf16 GEMMs write, too (ops/cuda/output.h).
#include <cstdint>

#include "ops/cuda/output.h"

namespace s0::ops::cuda {

void swiglu_forward(Input gu, int64_t n, int64_t inter, Output h);
void swiglu_backward(Input gu, Input dh, int64_t n, int64_t inter, Output dgu);
void relu2_forward(const float* u, int64_t count, Output h);
void relu2_backward(const float* u, const float* dh, int64_t count, Output du);

// gate: d columns of rows `ld` apart; d_o may be dout itself.
void sigmoid_gate_forward(const float* o, const float* gate, int64_t ld, int64_t N, int64_t d, Output out);
void sigmoid_gate_backward(const float* o, const float* gate, int64_t ld, const float* dout, int64_t N, int64_t d,
                           float* dgate, float* d_o);

}  // namespace s0::ops::cuda
