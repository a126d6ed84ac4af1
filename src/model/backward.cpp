#include "model/backward.h"

#include "core/error.h"
#include "core/overloaded.h"
#include "ops/norm.h"

namespace s0 {

namespace {

// dx[N, hidden] is the gradient of the residual stream after the block; on return it is the
// gradient before the block. d_initial[slot][seq] receives the recurrent state gradients.
void block_backward(const Block& blk, size_t block_index, const HybridModel& model, const PackedBatch& batch,
                    const BlockSaved& bs, Tensor& dx, std::vector<std::vector<Tensor>>& d_initial) {
  const int64_t N = batch.n_tokens(), Hd = model.hidden;
  const Device dev = dx.device();
  // Feed-forward: x_out = x_mid + ffn(norm(x_mid)).
  if (!blk.mlp_norm.empty()) {
    Tensor dh2 = Tensor::empty({N, Hd}, DType::F32, dev);  // written whole by ffn_backward
    ffn_backward(blk, batch.seqs, bs.ffn, dx, dh2);
    ops::rmsnorm_backward(bs.x_mid, blk.mlp_norm, bs.mlp_rstd, dh2, dx, true);
  }
  if (blk.mix_norm.empty()) return;

  // Mixers: x_mid = x_in + sum of mixers(norm(x_in)).
  // The first mixer writes dh whole, the others add to it (no zero fill: 26 MB a layer at the 4B
  // training batch).
  Tensor dh = Tensor::empty({N, Hd}, DType::F32, dev);
  auto starts = [&](size_t mixer) { return batch.recurrent_starts(blk.recurrent_slot, block_index, mixer); };
  std::vector<Tensor>* d_states = blk.recurrent_slot >= 0 ? &d_initial[blk.recurrent_slot] : nullptr;
  for (size_t i = 0; i < blk.mixers.size(); ++i) {
    std::visit(Overloaded{
                   [&](const AttentionMixer& m) {
                     attention_layer_backward(m, batch.seqs, batch.positions, std::get<AttentionSaved>(bs.mixers[i]),
                                              dx, dh, i > 0);
                   },
                   [&](const GatedDeltaMixer& m) {
                     gated_delta_layer_backward(m, batch.seqs, starts(i), std::get<GatedDeltaSaved>(bs.mixers[i]), dx,
                                                dh, i > 0, d_states);
                   },
                   [&](const Mamba2Mixer& m) {
                     mamba2_layer_backward(m, batch.seqs, starts(i), std::get<Mamba2Saved>(bs.mixers[i]), dx, dh,
                                           i > 0, d_states);
                   },
               },
               blk.mixers[i]);
  }
  ops::rmsnorm_backward(bs.x_in, blk.mix_norm, bs.mix_rstd, dh, dx, true);
}

}  // namespace

std::vector<std::vector<Tensor>> backward_from_normed(const HybridModel& model, const PackedBatch& batch,
                                                      ForwardTape& tape, const Tensor& d_normed) {
  const int64_t N = batch.n_tokens(), Hd = model.hidden;
  if (tape.blocks.size() != model.blocks.size()) fail("internal: backward without a full forward tape");
  const Device dev = d_normed.device();
  Tensor dx = Tensor::empty({N, Hd}, DType::F32, dev);
  ops::rmsnorm_backward(tape.x_final, model.final_norm, tape.final_rstd, d_normed, dx, false);

  std::vector<std::vector<Tensor>> by_slot(model.recurrent.size());
  for (size_t b = model.blocks.size(); b-- > 0;) {
    const Block& blk = model.blocks[b];
    BlockSaved& bs = tape.blocks[b];
    if (tape.recompute) {  // re-run the block's forward from its saved input
      Tensor x = bs.x_in.clone();
      block_forward(blk, model, batch, x, bs, KeepFor::rerun, nullptr);
    }
    block_backward(blk, b, model, batch, bs, dx, by_slot);
    bs = BlockSaved{};  // free as we go
  }

  std::vector<std::vector<Tensor>> out(static_cast<size_t>(batch.n_seqs()),
                                       std::vector<Tensor>(model.recurrent.size()));
  for (size_t slot = 0; slot < by_slot.size(); ++slot)
    for (size_t s = 0; s < by_slot[slot].size(); ++s) out[s][slot] = std::move(by_slot[slot][s]);
  return out;
}

}  // namespace s0
