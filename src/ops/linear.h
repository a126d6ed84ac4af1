#pragma once
// Linear layers y = x W^T + b (W[out, in], the PyTorch nn.Linear layout) over the rows of a packed
// batch. No weight gradient is ever formed: weights are frozen.
//
// Results are independent of batching, bit for bit, on the CPU: each group of rows (a sequence,
// or the picked rows of one sequence) gets its own BLAS call, because BLAS results for a row depend
// on the other rows of a call (the cost is re-packing W per group: O(1 / rows) of the arithmetic).
// A group of one row (a decode step's token, or a prefill's last-token logits) goes through an
// order-fixed row-wise kernel instead; consecutive one-row groups share one call, so a decode step
// reads W once for the whole batch.
#include <cstdint>

#include "core/tensor.h"
#include "ops/varlen.h"

namespace s0::ops {

// A precise Linear accumulates its products in double (W is widened block by block as it is
// used). The recurrent mixers' input projections are precise: their outputs meet in a delta-rule /
// SSM read-out that can cancel to a tiny vector which the gated RMS norm then scales up by up to
// 1/sqrt(eps), so float32 accumulation error in q, k, v is amplified a thousandfold (seen on the
// qwen35-vl-tied fixture: 1.4e-4 error in float32, 2.6e-5 with this). In the bf16 products (the
// speed modes) that care is the forward's: its input is split into two bf16 terms, while its
// backward rounds dy to one, as every other layer's backward does. The amplification is the
// forward read-out's; an input gradient has no such cancellation to undo, and a second product
// there cost a training step a split pass and a GEMM per recurrent layer.
// W is float32, or on the CPU bf16 / f16 (weights kept as the mapped checkpoint stores them: each
// call widens them, reading W once more than float32 would), unless bf16_products.
struct Linear {
  Tensor w;
  Tensor b;  // empty when the layer has no bias
  bool precise = false;
  int64_t in = 0, out = 0;
  // The CPU's speed mode (--dtype bf16): a bf16 W multiplies activations rounded to bf16, with
  // float32 accumulation (ops/cpu/linear_groups.h says how a precise layer keeps its input's bits).
  // Without it a bf16 W on the CPU is widened per call: float32 arithmetic, as the exactness mode
  // reads experts it keeps mapped. On a GPU a bf16 W always means bf16 products.
  bool bf16_products = false;
};

// y[rows, out] = x[rows, in] W^T + b, added to y when `add`; `groups` partitions the rows.
void linear_forward(const Linear& l, const Tensor& x, const Varlen& groups, Tensor& y, bool add = false);
// dx[rows, in] = dy[rows, out] W, added to dx when `accumulate`.
void linear_backward(const Linear& l, const Tensor& dy, const Varlen& groups, Tensor& dx, bool accumulate = false);

// The dtype in which to write x (forward, `rows` rows) or dy (backward) for l: bf16 where the GPU
// would round it to bf16 itself before its one GEMM (a bf16 W on the GPU; in the forward not
// precise and more rows than the few-row kernel multiplies unrounded), float32 everywhere else. An op
// that writes its output as l's bf16 operand spares the GEMM a rounding pass over a float32 copy,
// with the same bits (ops/cuda/output.h); linear_forward / linear_backward take x / dy in bf16 only
// there.
DType linear_input_dtype(const Linear& l, int64_t rows);
DType linear_grad_dtype(const Linear& l);

// The dtype in which linear_forward may write y (`rows` rows, nothing added, l without a bias) and,
// by linear_grad_dtype, linear_backward dx (nothing accumulated): bf16 where the GPU multiplies in
// bf16 anyway (as above), its float32 sums then rounded once (nearest even) instead of written
// whole; float32 everywhere else. For an activation whose reader takes bf16 (ops/activation.h's
// SwiGLU): half the bytes written and read, at the precision transformers keeps them in.
DType linear_output_dtype(const Linear& l, int64_t rows);

}  // namespace s0::ops
