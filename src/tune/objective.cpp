#include "tune/objective.h"

#include <algorithm>

#include "core/error.h"
#include "model/backward.h"
#include "model/forward.h"
#include "ops/cpu/cross_entropy.h"

namespace s0 {

namespace {

// Rows of LM-head logits formed at once: [256, vocab] is 254 MB at Qwen3.5's vocabulary, where
// all completion rows of a batch would be gigabytes.
constexpr int64_t kHeadChunkRows = 256;

// Consecutive runs of examples whose token counts fit the batch budget (at least one each).
std::vector<std::pair<size_t, size_t>> pack_ranges(const std::vector<Example>& ex, int64_t budget) {
  std::vector<std::pair<size_t, size_t>> out;
  size_t begin = 0;
  int64_t tokens = 0;
  for (size_t i = 0; i < ex.size(); ++i) {
    const int64_t n = static_cast<int64_t>(ex[i].ids.size());
    if (i > begin && tokens + n > budget) {
      out.push_back({begin, i});
      begin = i;
      tokens = 0;
    }
    tokens += n;
  }
  if (begin < ex.size()) out.push_back({begin, ex.size()});
  return out;
}

ObjectiveResult evaluate(const HybridModel& model, const std::vector<Example>& examples, const StateSet& states,
                         const ObjectiveOptions& opt, bool with_gradient) {
  if (examples.empty()) fail("no training examples");
  ObjectiveResult res;
  res.example_loss.assign(examples.size(), 0.0);
  if (with_gradient)
    for (const RecurrentLayer& r : model.recurrent) res.grad.push_back(Tensor::zeros(r.state_shape));
  const double n_ex = static_cast<double>(examples.size());

  for (auto [first, last] : pack_ranges(examples, opt.max_batch_tokens)) {
    std::vector<std::vector<int64_t>> seqs;
    for (size_t i = first; i < last; ++i) {
      const Example& e = examples[i];
      if (e.prompt_len < 1 || e.prompt_len >= static_cast<int64_t>(e.ids.size()))
        fail("internal: example ", i, " has no completion tokens");
      seqs.push_back(e.ids);
    }
    PackedBatch batch =
        PackedBatch::from_sequences(seqs, std::vector<const StateSet*>(seqs.size(), &states));
    // Completion rows: position t predicts ids[t + 1]; weight 1 / (examples * completion tokens).
    std::vector<int64_t> rows;
    std::vector<int32_t> targets;
    std::vector<float> weights;
    std::vector<size_t> owner;
    for (size_t i = first; i < last; ++i) {
      const Example& e = examples[i];
      const int64_t T = static_cast<int64_t>(e.ids.size()), n_tok = T - e.prompt_len;
      for (int64_t t = e.prompt_len - 1; t < T - 1; ++t) {
        rows.push_back(batch.begin(static_cast<int64_t>(i - first)) + t);
        targets.push_back(static_cast<int32_t>(e.ids[static_cast<size_t>(t + 1)]));
        weights.push_back(static_cast<float>(1.0 / (n_ex * static_cast<double>(n_tok))));
        owner.push_back(i);
      }
    }
    ForwardTape tape;
    tape.recompute = opt.recompute;
    ForwardOptions fo;  // no logits here: the LM head runs below, a chunk of rows at a time
    fo.tape = with_gradient ? &tape : nullptr;
    ForwardOutput out = forward(model, batch, fo);
    const int64_t R = static_cast<int64_t>(rows.size()), V = model.vocab;
    Tensor d_normed = with_gradient ? Tensor::zeros({batch.n_tokens(), model.hidden}) : Tensor();
    std::vector<float> losses;
    for (int64_t c0 = 0; c0 < R; c0 += kHeadChunkRows) {
      const int64_t n = std::min(kHeadChunkRows, R - c0);
      const std::vector<int64_t> chunk(rows.begin() + c0, rows.begin() + c0 + n);
      Tensor logits = lm_head_forward(model, batch, out.final_normed.f32(), chunk);
      if (!with_gradient) {
        losses.resize(static_cast<size_t>(n));
        ops::cross_entropy_forward(logits.f32(), targets.data() + c0, n, V, losses.data());
        for (int64_t r = 0; r < n; ++r) {
          const Example& e = examples[owner[c0 + r]];
          res.example_loss[owner[c0 + r]] += losses[r] / static_cast<double>(e.ids.size() - static_cast<size_t>(e.prompt_len));
        }
        continue;
      }
      // Runs of one example's rows: their weighted loss sum times the example count is that
      // example's share of its mean token loss. The gradient overwrites the logits in place.
      for (int64_t r0 = 0; r0 < n;) {
        int64_t r1 = r0;
        while (r1 < n && owner[c0 + r1] == owner[c0 + r0]) ++r1;
        const double sum = ops::cross_entropy_forward_backward(
            logits.f32() + r0 * V, targets.data() + c0 + r0, weights.data() + c0 + r0, r1 - r0, V,
            logits.f32_mut() + r0 * V);
        res.example_loss[owner[c0 + r0]] += sum * n_ex;
        r0 = r1;
      }
      lm_head_backward(model, batch, chunk, logits.f32(), d_normed.f32_mut());
    }
    if (!with_gradient) continue;
    std::vector<std::vector<Tensor>> d = backward_from_normed(model, batch, tape, d_normed);
    for (const auto& per_seq : d)
      for (size_t slot = 0; slot < per_seq.size(); ++slot) {
        float* g = res.grad[slot].f32_mut();
        const float* s = per_seq[slot].f32();
        for (int64_t j = 0; j < res.grad[slot].numel(); ++j) g[j] += s[j];
      }
  }

  for (double l : res.example_loss) res.mean_loss += l / n_ex;
  double l2 = 0;
  for (size_t slot = 0; slot < model.recurrent.size(); ++slot) {
    const Tensor& s = states.states.at(slot);
    if (s.empty()) continue;
    for (int64_t j = 0; j < s.numel(); ++j) {
      l2 += static_cast<double>(s.f32()[j]) * s.f32()[j];
      if (with_gradient) res.grad[slot].f32_mut()[j] += static_cast<float>(2.0 * opt.l2_lambda * s.f32()[j]);
    }
  }
  res.objective = res.mean_loss + opt.l2_lambda * l2;
  return res;
}

}  // namespace

ObjectiveResult objective_and_gradient(const HybridModel& model, const std::vector<Example>& examples,
                                       const StateSet& states, const ObjectiveOptions& options) {
  return evaluate(model, examples, states, options, true);
}

ObjectiveResult objective_only(const HybridModel& model, const std::vector<Example>& examples,
                               const StateSet& states, const ObjectiveOptions& options) {
  return evaluate(model, examples, states, options, false);
}

}  // namespace s0
