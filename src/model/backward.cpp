#include "model/backward.h"

#include "core/error.h"
#include "core/overloaded.h"
#include "ops/norm.h"

namespace s0 {

namespace {

// The dtype in which the next reader of the residual stream's gradient takes it, walking down from
// block b (its feed-forward half first unless `ffn_done`): bf16 where every layer of that half reads
// it only as a GEMM operand it would round so (ffn_grad_dtype; each mixer's out_proj), so the norm
// backward that finishes the gradient writes the rounded copy in the same pass (a rounding pass
// fewer per reader: 64 a batch at the 4B shape). Nothing reads the gradient below block 0.
DType residual_grad_dtype(const HybridModel& model, size_t b, bool ffn_done) {
  for (size_t i = b + 1; i-- > 0; ffn_done = false) {
    const Block& blk = model.blocks[i];
    if (!ffn_done && !blk.mlp_norm.empty()) return ffn_grad_dtype(blk);
    if (blk.mix_norm.empty()) continue;
    for (const Mixer& m : blk.mixers)
      if (std::visit([](const auto& mixer) { return ops::linear_grad_dtype(mixer.out_proj); }, m) != DType::BF16)
        return DType::F32;
    return DType::BF16;
  }
  return DType::F32;
}

// The bf16 copy a norm backward writes for the next reader, or an empty tensor where it reads float32.
Tensor rounded_copy_for(DType reader, const Tensor& dx) {
  return reader == DType::BF16 ? Tensor::empty(dx.shape(), DType::BF16, dx.device()) : Tensor();
}
Tensor* or_null(Tensor& t) { return t.empty() ? nullptr : &t; }

// dx[N, hidden] is the gradient of the residual stream after the block, and dx16 its bf16 copy when
// the block's first reader takes that (residual_grad_dtype); on return both are the gradient before
// the block. d_initial[slot][seq] receives the recurrent state gradients.
void block_backward(const Block& blk, size_t block_index, const HybridModel& model, const PackedBatch& batch,
                    const BlockSaved& bs, Tensor& dx, Tensor& dx16, std::vector<std::vector<Tensor>>& d_initial) {
  const int64_t N = batch.n_tokens(), Hd = model.hidden;
  const Device dev = dx.device();
  // Feed-forward: x_out = x_mid + ffn(norm(x_mid)).
  if (!blk.mlp_norm.empty()) {
    Tensor dh2 = Tensor::empty({N, Hd}, DType::F32, dev);  // written whole by ffn_backward
    ffn_backward(blk, batch.seqs, bs.ffn, dx16.empty() ? dx : dx16, dh2);
    dx16 = rounded_copy_for(residual_grad_dtype(model, block_index, true), dx);
    ops::rmsnorm_backward(bs.x_mid, blk.mlp_norm, bs.mlp_rstd, dh2, dx, true, or_null(dx16));
  }
  if (blk.mix_norm.empty()) return;

  // Mixers: x_mid = x_in + sum of mixers(norm(x_in)).
  // The first mixer writes dh whole, the others add to it (no zero fill: 26 MB a layer at the 4B
  // training batch).
  Tensor dh = Tensor::empty({N, Hd}, DType::F32, dev);
  const Tensor& d_out = dx16.empty() ? dx : dx16;
  auto starts = [&](size_t mixer) { return batch.recurrent_starts(blk.recurrent_slot, block_index, mixer); };
  std::vector<Tensor>* d_states = blk.recurrent_slot >= 0 ? &d_initial[blk.recurrent_slot] : nullptr;
  for (size_t i = 0; i < blk.mixers.size(); ++i) {
    std::visit(Overloaded{
                   [&](const AttentionMixer& m) {
                     attention_layer_backward(m, batch.seqs, batch.positions, std::get<AttentionSaved>(bs.mixers[i]),
                                              d_out, dh, i > 0);
                   },
                   [&](const GatedDeltaMixer& m) {
                     gated_delta_layer_backward(m, batch.seqs, starts(i), std::get<GatedDeltaSaved>(bs.mixers[i]),
                                                d_out, dh, i > 0, d_states);
                   },
                   [&](const Mamba2Mixer& m) {
                     mamba2_layer_backward(m, batch.seqs, starts(i), std::get<Mamba2Saved>(bs.mixers[i]), d_out, dh,
                                           i > 0, d_states);
                   },
               },
               blk.mixers[i]);
  }
  dx16 = block_index > 0 ? rounded_copy_for(residual_grad_dtype(model, block_index - 1, false), dx) : Tensor();
  ops::rmsnorm_backward(bs.x_in, blk.mix_norm, bs.mix_rstd, dh, dx, true, or_null(dx16));
}

}  // namespace

std::vector<std::vector<Tensor>> backward_from_normed(const HybridModel& model, const PackedBatch& batch,
                                                      ForwardTape& tape, const Tensor& d_normed) {
  const int64_t N = batch.n_tokens(), Hd = model.hidden;
  if (tape.blocks.size() != model.blocks.size()) fail("internal: backward without a full forward tape");
  const Device dev = d_normed.device();
  Tensor dx = Tensor::empty({N, Hd}, DType::F32, dev);
  Tensor dx16 = model.blocks.empty()
                    ? Tensor()
                    : rounded_copy_for(residual_grad_dtype(model, model.blocks.size() - 1, false), dx);
  ops::rmsnorm_backward(tape.x_final, model.final_norm, tape.final_rstd, d_normed, dx, false, or_null(dx16));

  std::vector<std::vector<Tensor>> by_slot(model.recurrent.size());
  for (size_t b = model.blocks.size(); b-- > 0;) {
    const Block& blk = model.blocks[b];
    BlockSaved& bs = tape.blocks[b];
    if (tape.recompute) {  // re-run the block's forward from its saved input
      Tensor x = bs.x_in.clone();
      block_forward(blk, model, batch, x, bs, KeepFor::rerun, nullptr);
    }
    block_backward(blk, b, model, batch, bs, dx, dx16, by_slot);
    bs = BlockSaved{};  // free as we go
  }

  std::vector<std::vector<Tensor>> out(static_cast<size_t>(batch.n_seqs()),
                                       std::vector<Tensor>(model.recurrent.size()));
  for (size_t slot = 0; slot < by_slot.size(); ++slot)
    for (size_t s = 0; s < by_slot[slot].size(); ++s) out[s][slot] = std::move(by_slot[slot][s]);
  return out;
}

}  // namespace s0
