#include "model/backward.h"

#include <cstring>

#include "core/error.h"
#include "core/overloaded.h"
#include "ops/cpu/activation.h"
#include "ops/cpu/norm.h"

namespace s0 {

namespace {

// dx[N, hidden] is the gradient of the residual stream after the block; on return it is the
// gradient before the block. d_initial[slot][seq] receives the recurrent state gradients.
void block_backward(const Block& blk, const HybridModel& model, const PackedBatch& batch, const BlockSaved& bs,
                    Tensor& dx, std::vector<std::vector<Tensor>>& d_initial) {
  const int64_t N = batch.n_tokens(), Hd = model.hidden, I = blk.down.in;
  // MLP: x_out = x_mid + down(swiglu(gate_up(norm(x_mid)))).
  Tensor dact = Tensor::zeros({N, I});
  linear_backward(blk.down, dx.f32(), batch.offsets, dact.f32_mut());
  Tensor dgu = Tensor::zeros({N, 2 * I});
  ops::swiglu_backward(bs.gu.f32(), dact.f32(), N, I, dgu.f32_mut());
  Tensor dh2 = Tensor::zeros({N, Hd});
  linear_backward(blk.gate_up, dgu.f32(), batch.offsets, dh2.f32_mut());
  ops::rmsnorm_backward(bs.x_mid.f32(), blk.mlp_norm.f32(), bs.mlp_rstd.f32(), dh2.f32(), N, Hd, dx.f32_mut(), true);

  // Mixers: x_mid = x_in + sum of mixers(norm(x_in)).
  Tensor dh = Tensor::zeros({N, Hd});
  std::vector<Tensor>* d_states = blk.recurrent_slot >= 0 ? &d_initial[blk.recurrent_slot] : nullptr;
  for (size_t i = 0; i < blk.mixers.size(); ++i) {
    std::visit(Overloaded{
                   [&](const AttentionMixer& m) {
                     attention_layer_backward(m, batch, std::get<AttentionSaved>(bs.mixers[i]), dx.f32(),
                                              dh.f32_mut());
                   },
                   [&](const GatedDeltaMixer& m) {
                     gated_delta_layer_backward(m, blk.recurrent_slot, batch, std::get<GatedDeltaSaved>(bs.mixers[i]),
                                                dx.f32(), dh.f32_mut(), d_states);
                   },
                   [&](const Mamba2Mixer& m) {
                     mamba2_layer_backward(m, blk.recurrent_slot, batch, std::get<Mamba2Saved>(bs.mixers[i]),
                                           dx.f32(), dh.f32_mut(), d_states);
                   },
               },
               blk.mixers[i]);
  }
  ops::rmsnorm_backward(bs.x_in.f32(), blk.mix_norm.f32(), bs.mix_rstd.f32(), dh.f32(), N, Hd, dx.f32_mut(), true);
}

}  // namespace

void lm_head_backward(const HybridModel& model, const PackedBatch& batch, const std::vector<int64_t>& rows,
                      const float* d_logits, float* d_normed) {
  const int64_t Hd = model.hidden, R = static_cast<int64_t>(rows.size());
  Tensor d_picked = Tensor::zeros({R, Hd});
  linear_backward(model.lm_head, d_logits, rows_by_sequence(batch, rows), d_picked.f32_mut());
  for (int64_t r = 0; r < R; ++r)  // logits = scale * normed W^T
    for (int64_t j = 0; j < Hd; ++j) d_normed[rows[r] * Hd + j] += model.logit_scale * d_picked.f32()[r * Hd + j];
}

std::vector<std::vector<Tensor>> backward(const HybridModel& model, const PackedBatch& batch, ForwardTape& tape,
                                          const std::vector<int64_t>& rows, const Tensor& d_logits) {
  const int64_t R = static_cast<int64_t>(rows.size());
  if (d_logits.shape() != Shape{R, model.vocab}) fail("internal: d_logits shape ", shape_str(d_logits.shape()));
  Tensor d_normed = Tensor::zeros({batch.n_tokens(), model.hidden});
  lm_head_backward(model, batch, rows, d_logits.f32(), d_normed.f32_mut());
  return backward_from_normed(model, batch, tape, d_normed);
}

std::vector<std::vector<Tensor>> backward_from_normed(const HybridModel& model, const PackedBatch& batch,
                                                      ForwardTape& tape, const Tensor& d_normed) {
  const int64_t N = batch.n_tokens(), Hd = model.hidden;
  if (tape.blocks.size() != model.blocks.size()) fail("internal: backward without a full forward tape");
  Tensor dx = Tensor::zeros({N, Hd});
  ops::rmsnorm_backward(tape.x_final.f32(), model.final_norm.f32(), tape.final_rstd.f32(), d_normed.f32(), N, Hd,
                        dx.f32_mut(), false);

  std::vector<std::vector<Tensor>> by_slot(model.recurrent.size());
  for (size_t b = model.blocks.size(); b-- > 0;) {
    const Block& blk = model.blocks[b];
    BlockSaved& bs = tape.blocks[b];
    if (tape.recompute) {  // re-run the block's forward from its saved input
      Tensor x = bs.x_in.clone();
      block_forward(blk, model, batch, x, bs, /*keep_mixers=*/true, nullptr);
    }
    block_backward(blk, model, batch, bs, dx, by_slot);
    bs = BlockSaved{};  // free as we go
  }

  std::vector<std::vector<Tensor>> out(static_cast<size_t>(batch.n_seqs()),
                                       std::vector<Tensor>(model.recurrent.size()));
  for (size_t slot = 0; slot < by_slot.size(); ++slot)
    for (size_t s = 0; s < by_slot[slot].size(); ++s) out[s][slot] = std::move(by_slot[slot][s]);
  return out;
}

}  // namespace s0
