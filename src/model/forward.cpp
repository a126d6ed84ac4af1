#include "model/forward.h"

#include <algorithm>

#include "core/error.h"
#include "core/overloaded.h"
#include "model/decode_graphs.h"
#include "model/lm_head.h"
#include "ops/linear.h"
#include "ops/norm.h"
#include "ops/rows.h"

namespace s0 {

namespace {
// The dtype to write the normalised mixer input in: the input projections' operand where every
// mixer's would be bf16 (ops::linear_input_dtype), else float32.
DType mixer_input_dtype(const Block& blk, int64_t N) {
  const bool bf16 = !blk.mixers.empty() && std::all_of(blk.mixers.begin(), blk.mixers.end(), [&](const Mixer& mixer) {
    return std::visit([&](const auto& m) { return ops::linear_input_dtype(m.in_proj, N); }, mixer) == DType::BF16;
  });
  return bf16 ? DType::BF16 : DType::F32;
}
}  // namespace

void block_mixers_forward(const Block& blk, const HybridModel& model, const PackedBatch& batch, Tensor& x,
                          BlockSaved& bs, KeepFor keep, std::vector<Tensor>* finals) {
  const int64_t N = batch.n_tokens(), Hd = model.hidden;
  const Device dev = x.device();
  const bool keep_mixers = keep != KeepFor::nothing;
  bs.mixers.clear();
  if (!blk.mix_norm.empty()) {
    bs.mix_rstd = Tensor::empty({N}, DType::F32, dev);
    bs.h = Tensor::empty({N, Hd}, mixer_input_dtype(blk, N), dev);
    ops::rmsnorm_forward(x, blk.mix_norm, model.norm_eps, bs.h, bs.mix_rstd);
    const size_t block_index = static_cast<size_t>(&blk - model.blocks.data());
    auto starts = [&](size_t mixer) { return batch.recurrent_starts(blk.recurrent_slot, block_index, mixer); };
    for (size_t mi = 0; mi < blk.mixers.size(); ++mi) {
      std::visit(Overloaded{
                     [&](const AttentionMixer& m) {
                       AttentionSaved s;
                       attention_layer_forward(m, batch.seqs, batch.positions, bs.h, x, s,
                                               batch.kv_caches(block_index, mi));
                       if (keep_mixers) bs.mixers.emplace_back(std::move(s));
                     },
                     [&](const GatedDeltaMixer& m) {
                       GatedDeltaSaved s;
                       gated_delta_layer_forward(m, batch.seqs, starts(mi), bs.h, x, s, finals, keep);
                       if (keep_mixers) bs.mixers.emplace_back(std::move(s));
                     },
                     [&](const Mamba2Mixer& m) {
                       Mamba2Saved s;
                       mamba2_layer_forward(m, batch.seqs, starts(mi), bs.h, x, s, finals, keep_mixers);
                       if (keep_mixers) bs.mixers.emplace_back(std::move(s));
                     },
                 },
                 blk.mixers[mi]);
    }
  }
}

void block_ffn_forward(const Block& blk, const HybridModel& model, const PackedBatch& batch, Tensor& x,
                       BlockSaved& bs) {
  if (blk.mlp_norm.empty()) return;
  const int64_t N = batch.n_tokens();
  bs.mlp_rstd = Tensor::empty({N}, DType::F32, x.device());
  bs.h2 = Tensor::empty({N, model.hidden}, ffn_input_dtype(blk, N), x.device());
  ops::rmsnorm_forward(x, blk.mlp_norm, model.norm_eps, bs.h2, bs.mlp_rstd);
  ffn_forward(blk, batch.seqs, bs.h2, x, bs.ffn);
}

void block_forward(const Block& blk, const HybridModel& model, const PackedBatch& batch, Tensor& x, BlockSaved& bs,
                   KeepFor keep, std::vector<Tensor>* finals) {
  block_mixers_forward(blk, model, batch, x, bs, keep, finals);
  if (keep != KeepFor::nothing) bs.x_mid = x.clone();
  block_ffn_forward(blk, model, batch, x, bs);
}

void validate_batch(const HybridModel& model, const PackedBatch& batch) {
  const bool on_device = !batch.token_ids.empty();
  if (on_device && batch.token_ids.numel() != batch.n_tokens())
    fail("internal: ", batch.token_ids.numel(), " token ids on the device for a batch of ", batch.n_tokens());
  for (int64_t s = 0; s < batch.n_seqs(); ++s) {
    if (batch.length(s) <= 0) fail("sequence ", s, " is empty");
    for (int64_t t = batch.begin(s); t < batch.begin(s) + batch.length(s); ++t) {
      int64_t id = batch.tokens[t];
      if (on_device && id == PackedBatch::kChosenOnDevice) continue;  // a token the model chose: in range
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

ForwardOutput forward(const HybridModel& model, const PackedBatch& batch, const ForwardOptions& opt) {
  validate_batch(model, batch);
  const int64_t N = batch.n_tokens(), Hd = model.hidden;
  ForwardOutput out;
  if (opt.keep_final_states) out.final_states.resize(model.recurrent.size());
  if (opt.tape) opt.tape->blocks.clear();

  Tensor x = batch.token_ids.empty() ? ops::gather_rows(model.embed, batch.tokens, model.embed_scale)
                                      : ops::gather_rows(model.embed, batch.token_ids, model.embed_scale);
  const Device dev = x.device();
  if (opt.keep_hidden) out.hidden.push_back(x.clone());

  // A decode step replays its recurrent blocks from CUDA graphs where it can (model/decode_graphs.h);
  // it keeps nothing but the logits.
  const bool replayed = opt.graphs && !opt.tape && !opt.keep_hidden && !opt.keep_final_states &&
                        DecodeGraphs::apply_to(batch, dev);
  if (replayed)
    opt.graphs->blocks_forward(model, batch, x);
  else
    for (const Block& blk : model.blocks) {
      std::vector<Tensor>* finals =
          opt.keep_final_states && blk.recurrent_slot >= 0 ? &out.final_states[blk.recurrent_slot] : nullptr;
      BlockSaved bs;
      if (opt.tape) bs.x_in = x.clone();
      const KeepFor keep = opt.tape && !opt.tape->recompute ? KeepFor::whole_tape : KeepFor::nothing;
      block_forward(blk, model, batch, x, bs, keep, finals);
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

  Tensor rstd = Tensor::empty({N}, DType::F32, dev);
  out.final_normed = Tensor::empty({N, Hd}, DType::F32, dev);
  ops::rmsnorm_forward(x, model.final_norm, model.norm_eps, out.final_normed, rstd);
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
  out.logits = lm_head_forward(model, batch, out.final_normed, rows);
  return out;
}

}  // namespace s0
