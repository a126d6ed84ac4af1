#pragma once
// A Linear whose input is the output of an elementwise op that nothing else reads: the MLP's SwiGLU
// (the down projection's input) or attention's sigmoid output gate (the output projection's). In a
// decode step on a GPU (a bf16 W, at most four rows) the product forms its input where it reads it,
// so the activation costs no kernel and no buffer of its own; everywhere else the activation is
// written once, as the product's operand (ops::linear_input_dtype), and multiplied as usual. The two
// give the same bits: the product forms each value by the activation kernel's own expression.
#include "core/tensor.h"
#include "ops/columns.h"
#include "ops/linear.h"
#include "ops/varlen.h"

namespace s0::ops {

struct Activated {
  enum class Op { swiglu, sigmoid_gate };
  Op op;
  Tensor x;       // swiglu: gu[rows, 2 I] laid out [gate | up] per row; sigmoid_gate: o[rows, d] (or [rows, heads, head_dim])
  Columns gate;   // sigmoid_gate: the gate, read in place from a projection's columns

  static Activated swiglu(const Tensor& gu) { return {Op::swiglu, gu, {}}; }
  static Activated sigmoid_gated(const Tensor& o, const Columns& gate) { return {Op::sigmoid_gate, o, gate}; }
  int64_t rows() const { return x.dim(0); }
  int64_t width() const { return x.numel() / x.dim(0) / (op == Op::swiglu ? 2 : 1); }
};

// The activation's output, written in `dtype` (what linear_forward multiplies when it does not form
// it itself).
Tensor activation_output(const Activated& a, DType dtype);

// y[rows, out] = act W^T + b (added to y when `add`), act = a's output; `groups` partitions the rows.
void linear_forward(const Linear& l, const Activated& a, const Varlen& groups, Tensor& y, bool add = false);

}  // namespace s0::ops
