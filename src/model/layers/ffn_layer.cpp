#include "model/layers/ffn_layer.h"

#include "model/layers/mlp.h"
#include "ops/linear.h"
#include "ops/moe.h"

namespace s0 {

namespace {
MlpWeights dense_weights(const Block& blk) { return {&blk.gate_up, 1, blk.down, blk.mlp_act}; }
bool gated_shared_expert(const Block& blk) { return blk.moe && !blk.moe->shared_gate.w.empty(); }
bool has_dense_mlp(const Block& blk) { return !blk.gate_up.w.empty(); }
}  // namespace

DType ffn_input_dtype(const Block& blk, int64_t N) {
  return has_dense_mlp(blk) && !blk.moe ? ops::linear_input_dtype(blk.gate_up, N) : DType::F32;
}

DType ffn_grad_dtype(const Block& blk) {
  return has_dense_mlp(blk) && !blk.moe ? ops::linear_grad_dtype(blk.down) : DType::F32;
}

void ffn_forward(const Block& blk, const ops::Varlen& seqs, const Tensor& h2, Tensor& residual, FfnSaved& s) {
  const int64_t N = seqs.rows();
  const Device dev = h2.device();
  if (has_dense_mlp(blk)) {
    if (gated_shared_expert(blk)) {
      s.dense_out = Tensor::zeros({N, h2.dim(1)}, DType::F32, dev);
      mlp_forward(dense_weights(blk), seqs, h2, s.dense_out, /*add=*/false, s.gu);
      s.shared_logit = Tensor::zeros({N, 1}, DType::F32, dev);
      ops::linear_forward(blk.moe->shared_gate, h2, seqs, s.shared_logit);
      ops::sigmoid_row_gate(s.dense_out, s.shared_logit, residual);
    } else {
      mlp_forward(dense_weights(blk), seqs, h2, residual, /*add=*/true, s.gu);
    }
  }
  if (blk.moe) moe_forward(*blk.moe, seqs, h2, residual, s.moe);
}

void ffn_backward(const Block& blk, const ops::Varlen& seqs, const FfnSaved& s, const Tensor& d_out, Tensor& dh2) {
  const int64_t N = seqs.rows();
  const Device dev = d_out.device();
  if (has_dense_mlp(blk)) {
    if (gated_shared_expert(blk)) {
      Tensor d_dense = Tensor::zeros({N, d_out.dim(1)}, DType::F32, dev);
      Tensor d_logit = Tensor::zeros({N, 1}, DType::F32, dev);
      ops::sigmoid_row_gate_backward(s.dense_out, s.shared_logit, d_out, d_dense, d_logit);
      mlp_backward(dense_weights(blk), seqs, s.gu, d_dense, dh2, /*accumulate=*/false);
      ops::linear_backward(blk.moe->shared_gate, d_logit, seqs, dh2, /*accumulate=*/true);
    } else {
      mlp_backward(dense_weights(blk), seqs, s.gu, d_out, dh2, /*accumulate=*/false);
    }
  } else {
    dh2 = Tensor::zeros(dh2.shape(), DType::F32, dev);  // the experts add their rows into it
  }
  if (blk.moe) moe_backward(*blk.moe, seqs, s.moe, d_out, dh2);
}

}  // namespace s0
