#include "model/forward.h"

#include <algorithm>
#include <cstring>

#include "core/error.h"
#include "core/overloaded.h"
#include "ops/cpu/activation.h"
#include "ops/cpu/norm.h"

namespace s0 {

namespace {

void embed_tokens(const HybridModel& model, const PackedBatch& batch, float* x) {
  const int64_t Hd = model.hidden;
  const float* table = model.embed.f32();
  for (int64_t t = 0; t < batch.n_tokens(); ++t) {
    const float* row = table + batch.tokens[t] * Hd;
    for (int64_t j = 0; j < Hd; ++j) x[t * Hd + j] = row[j] * model.embed_scale;
  }
}

void mlp_forward(const Block& blk, const PackedBatch& batch, const float* h2, float* residual, Tensor& gu) {
  const int64_t N = batch.n_tokens(), I = blk.down.in;
  gu = Tensor::zeros({N, 2 * I});
  linear_forward(blk.gate_up, h2, batch.offsets, gu.f32_mut());
  Tensor act = Tensor::zeros({N, I});
  ops::swiglu_forward(gu.f32(), N, I, act.f32_mut());
  linear_forward(blk.down, act.f32(), batch.offsets, residual, /*add=*/true);
}

}  // namespace

void block_forward(const Block& blk, const HybridModel& model, const PackedBatch& batch, Tensor& x, BlockSaved& bs,
                   bool keep_mixers, std::vector<Tensor>* finals) {
  const int64_t N = batch.n_tokens(), Hd = model.hidden;
  bs.mix_rstd = Tensor::zeros({N});
  bs.h = Tensor::zeros({N, Hd});
  ops::rmsnorm_forward(x.f32(), blk.mix_norm.f32(), N, Hd, model.norm_eps, bs.h.f32_mut(), bs.mix_rstd.f32_mut());
  bs.mixers.clear();
  const size_t block_index = static_cast<size_t>(&blk - model.blocks.data());
  for (size_t mi = 0; mi < blk.mixers.size(); ++mi) {
    MixerCaches caches;
    for (int64_t seq = 0; seq < static_cast<int64_t>(batch.caches.size()); ++seq)
      caches.push_back(batch.mixer_cache(seq, block_index, mi));
    std::visit(Overloaded{
                   [&](const AttentionMixer& m) {
                     AttentionSaved s;
                     attention_layer_forward(m, batch, bs.h.f32(), x.f32_mut(), s, caches);
                     if (keep_mixers) bs.mixers.emplace_back(std::move(s));
                   },
                   [&](const GatedDeltaMixer& m) {
                     GatedDeltaSaved s;
                     gated_delta_layer_forward(m, blk.recurrent_slot, batch, bs.h.f32(), x.f32_mut(), s, finals,
                                               caches);
                     if (keep_mixers) bs.mixers.emplace_back(std::move(s));
                   },
                   [&](const Mamba2Mixer& m) {
                     Mamba2Saved s;
                     mamba2_layer_forward(m, blk.recurrent_slot, batch, bs.h.f32(), x.f32_mut(), s, finals, caches);
                     if (keep_mixers) bs.mixers.emplace_back(std::move(s));
                   },
               },
               blk.mixers[mi]);
  }
  if (keep_mixers) bs.x_mid = x.clone();
  bs.mlp_rstd = Tensor::zeros({N});
  bs.h2 = Tensor::zeros({N, Hd});
  ops::rmsnorm_forward(x.f32(), blk.mlp_norm.f32(), N, Hd, model.norm_eps, bs.h2.f32_mut(), bs.mlp_rstd.f32_mut());
  mlp_forward(blk, batch, bs.h2.f32(), x.f32_mut(), bs.gu);
}

void validate_batch(const HybridModel& model, const PackedBatch& batch) {
  for (int64_t s = 0; s < batch.n_seqs(); ++s) {
    if (batch.length(s) <= 0) fail("sequence ", s, " is empty");
    for (int64_t t = batch.begin(s); t < batch.begin(s) + batch.length(s); ++t) {
      int64_t id = batch.tokens[t];
      if (id < 0 || id >= model.vocab)
        fail("sequence ", s, " position ", t - batch.begin(s), ": token id ", id, " is outside the vocabulary [0, ",
             model.vocab, ")");
    }
    const int64_t end = batch.positions[batch.begin(s) + batch.length(s) - 1] + 1;
    if (model.max_positions > 0 && end > model.max_positions)
      fail("sequence ", s, " has ", end, " tokens, more than the model's position limit of ", model.max_positions);
    const StateSet* set = batch.initial[static_cast<size_t>(s)];
    if (!set) continue;
    if (set->states.size() != model.recurrent.size())
      fail("sequence ", s, ": ", set->states.size(), " initial states for a model with ", model.recurrent.size(),
           " recurrent layers");
    for (size_t i = 0; i < set->states.size(); ++i) {
      const Tensor& st = set->states[i];
      if (st.empty()) continue;
      if (st.dtype() != DType::F32 || st.shape() != model.recurrent[i].state_shape)
        fail("sequence ", s, ": initial state for layer ", model.recurrent[i].layer, " has shape ",
             shape_str(st.shape()), ", expected ", shape_str(model.recurrent[i].state_shape));
    }
  }
}

RowGroups rows_by_sequence(const PackedBatch& batch, const std::vector<int64_t>& rows) {
  RowGroups groups = {0};
  int64_t current = -1;
  for (size_t r = 0; r < rows.size(); ++r) {
    const int64_t seq = std::upper_bound(batch.offsets.begin(), batch.offsets.end(), rows[r]) - batch.offsets.begin() - 1;
    if (r > 0 && seq != current) groups.push_back(static_cast<int64_t>(r));
    current = seq;
  }
  groups.push_back(static_cast<int64_t>(rows.size()));
  return groups;
}

Tensor lm_head_forward(const HybridModel& model, const PackedBatch& batch, const float* normed,
                       const std::vector<int64_t>& rows) {
  const int64_t Hd = model.hidden, R = static_cast<int64_t>(rows.size());
  Tensor picked = Tensor::zeros({R, Hd});
  for (int64_t r = 0; r < R; ++r) std::memcpy(picked.f32_mut() + r * Hd, normed + rows[r] * Hd, sizeof(float) * Hd);
  Tensor logits = Tensor::zeros({R, model.vocab});
  linear_forward(model.lm_head, picked.f32(), rows_by_sequence(batch, rows), logits.f32_mut());
  if (model.logit_scale != 1.0f) {
    float* l = logits.f32_mut();
    for (int64_t i = 0; i < logits.numel(); ++i) l[i] *= model.logit_scale;
  }
  return logits;
}

ForwardOutput forward(const HybridModel& model, const PackedBatch& batch, const ForwardOptions& opt) {
  validate_batch(model, batch);
  const int64_t N = batch.n_tokens(), Hd = model.hidden;
  ForwardOutput out;
  if (opt.keep_final_states) out.final_states.resize(model.recurrent.size());
  if (opt.tape) opt.tape->blocks.clear();

  Tensor x = Tensor::zeros({N, Hd});
  embed_tokens(model, batch, x.f32_mut());
  if (opt.keep_hidden) out.hidden.push_back(x.clone());

  for (const Block& blk : model.blocks) {
    std::vector<Tensor>* finals =
        opt.keep_final_states && blk.recurrent_slot >= 0 ? &out.final_states[blk.recurrent_slot] : nullptr;
    BlockSaved bs;
    if (opt.tape) bs.x_in = x.clone();
    block_forward(blk, model, batch, x, bs, opt.tape && !opt.tape->recompute, finals);
    if (opt.keep_hidden) out.hidden.push_back(x.clone());
    if (opt.tape) {
      if (opt.tape->recompute) {  // keep only the block's input
        BlockSaved input_only;
        input_only.x_in = std::move(bs.x_in);
        bs = std::move(input_only);
      }
      opt.tape->blocks.push_back(std::move(bs));
    }
  }

  Tensor rstd = Tensor::zeros({N});
  out.final_normed = Tensor::zeros({N, Hd});
  ops::rmsnorm_forward(x.f32(), model.final_norm.f32(), N, Hd, model.norm_eps, out.final_normed.f32_mut(),
                       rstd.f32_mut());
  if (opt.keep_hidden) out.hidden.push_back(out.final_normed);
  if (opt.tape) {
    opt.tape->x_final = x;
    opt.tape->final_rstd = rstd;
  }

  std::vector<int64_t> rows = opt.logit_rows;
  if (opt.all_logits) {
    rows.resize(static_cast<size_t>(N));
    for (int64_t t = 0; t < N; ++t) rows[t] = t;
  }
  for (int64_t r : rows)
    if (r < 0 || r >= N) fail("internal: logit row ", r, " outside the batch of ", N, " tokens");
  out.logits = lm_head_forward(model, batch, out.final_normed.f32(), rows);
  return out;
}

}  // namespace s0
