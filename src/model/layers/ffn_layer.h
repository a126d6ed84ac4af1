#pragma once
// A block's feed-forward part on its normalised input: the dense SwiGLU MLP (the shared expert of
// an MoE block, then optionally scaled by its sigmoid gate) and the routed experts, each added to
// the residual stream.
#include "core/tensor.h"
#include "model/layers/moe_layer.h"
#include "model/model.h"
#include "ops/varlen.h"

namespace s0 {

struct FfnSaved {
  Tensor gu;            // [N, 2I] the dense MLP's input projection (empty without a dense MLP)
  Tensor dense_out;     // [N, hidden] the gated shared expert's output before its gate
  Tensor shared_logit;  // [N, 1] its gate logit
  MoeSaved moe;
};

// The dtype to write h2 in for N rows: the dense MLP's operand where it is h2's one reader
// (ops::linear_input_dtype), else float32.
DType ffn_input_dtype(const Block& blk, int64_t N);
// residual[N, hidden] += ffn(h2[N, hidden]).
void ffn_forward(const Block& blk, const ops::Varlen& seqs, const Tensor& h2, Tensor& residual, FfnSaved& saved);
// The dtype ffn_backward takes d_out in: bf16 where the dense MLP's down projection is its one
// reader and rounds it so (ops::linear_grad_dtype), else float32.
DType ffn_grad_dtype(const Block& blk);
// dh2[N, hidden] = the input gradient for d_out[N, hidden] (dh2 is overwritten: a dense MLP's GEMM
// writes it first, a mixture of experts alone adds into zeros).
void ffn_backward(const Block& blk, const ops::Varlen& seqs, const FfnSaved& saved, const Tensor& d_out, Tensor& dh2);

}  // namespace s0
