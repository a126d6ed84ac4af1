#pragma once
// The MLPs' activations (SwiGLU; Nemotron-H's squared ReLU) and attention's sigmoid output gate,
// forward and backward side by side. On a GPU, h, dgu, du and out may be bf16: the operand of the
// bf16 GEMM that reads them next (ops::linear_input_dtype), rounded as that GEMM would round it;
// and SwiGLU's gu and dh may be bf16: what a bf16 GEMM wrote them as (ops::linear_output_dtype).
#include <cstdint>

#include "core/tensor.h"
#include "ops/columns.h"

namespace s0::ops {

// h[n, I] = silu(gate) * up for gu[n, 2I] laid out [gate | up] per row.
void swiglu_forward(const Tensor& gu, Tensor& h);
// dgu[n, 2I] from dh[n, I].
void swiglu_backward(const Tensor& gu, const Tensor& dh, Tensor& dgu);

// h = relu(u)^2, elementwise over u[n, I].
void relu2_forward(const Tensor& u, Tensor& h);
// du from dh.
void relu2_backward(const Tensor& u, const Tensor& dh, Tensor& du);

// out[n, d] = o * sigmoid(gate), the gate read in place from a projection's columns.
void sigmoid_gate_forward(const Tensor& o, const Columns& gate, Tensor& out);
// The gate's gradient into dgate's columns; d_out becomes the gradient to o, in place.
void sigmoid_gate_backward(const Tensor& o, const Columns& gate, Tensor& d_out, const Columns& dgate);

}  // namespace s0::ops
