#include "tune/objective.h"

#include "core/error.h"
#include "core/ordered_sum.h"
#include "model/loss_head.h"
#include "ops/rows.h"
#include "tune/batch_packing.h"

namespace s0 {

namespace {

ObjectiveResult evaluate(const HybridModel& model, const std::vector<Example>& examples, const StateSet& states,
                         const ObjectiveOptions& opt, bool with_gradient) {
  if (examples.empty()) fail("no training examples");
  ObjectiveResult res;
  res.example_loss.assign(examples.size(), 0.0);
  const double n_ex = static_cast<double>(examples.size());
  // The states, their gradient and the optimizer stay on the host (they are small); the forward and
  // backward run where the model is, and the per-sequence state gradients are summed there (batch
  // by batch, each in sequence order): only the sum crosses to the host, not one copy per sequence
  // and layer.
  StateSet on_model;
  on_model.variant = states.variant;
  for (const Tensor& s : states.states) on_model.states.push_back(s.empty() ? s : s.to(model.device()));
  std::vector<Tensor> grad_on_model;
  if (with_gradient)
    for (const RecurrentLayer& r : model.recurrent)
      grad_on_model.push_back(Tensor::zeros(r.state_shape, DType::F32, model.device()));

  std::vector<int64_t> token_counts;
  for (const Example& e : examples) token_counts.push_back(static_cast<int64_t>(e.ids.size()));
  for (const std::vector<size_t>& members : pack_batches(token_counts, opt.max_batch_tokens)) {
    std::vector<std::vector<int64_t>> seqs;
    for (size_t i : members) {
      const Example& e = examples[i];
      if (e.prompt_len < 1 || e.prompt_len >= static_cast<int64_t>(e.ids.size()))
        fail("internal: example ", i, " has no completion tokens");
      seqs.push_back(e.ids);
    }
    PackedBatch batch =
        PackedBatch::from_sequences(seqs, std::vector<const StateSet*>(seqs.size(), &on_model));
    // Completion rows: position t predicts ids[t + 1]; weight 1 / (examples * completion tokens).
    LossRows loss;
    loss.groups.push_back(0);
    for (size_t s = 0; s < members.size(); ++s) {
      const Example& e = examples[members[s]];
      const int64_t T = static_cast<int64_t>(e.ids.size()), n_tok = T - e.prompt_len;
      for (int64_t t = e.prompt_len - 1; t < T - 1; ++t) {
        loss.rows.push_back(batch.begin(static_cast<int64_t>(s)) + t);
        loss.targets.push_back(static_cast<int32_t>(e.ids[static_cast<size_t>(t + 1)]));
        loss.weights.push_back(static_cast<float>(1.0 / (n_ex * static_cast<double>(n_tok))));
      }
      loss.groups.push_back(static_cast<int64_t>(loss.rows.size()));
    }
    if (!with_gradient) {
      const std::vector<float> losses = row_losses(model, batch, loss);
      for (size_t s = 0; s < members.size(); ++s) {
        const Example& e = examples[members[s]];
        const double n_tok = static_cast<double>(e.ids.size() - static_cast<size_t>(e.prompt_len));
        for (int64_t r = loss.groups[s]; r < loss.groups[s + 1]; ++r)
          res.example_loss[members[s]] += losses[static_cast<size_t>(r)] / n_tok;
      }
      continue;
    }
    // Each part's weighted loss sum times the example count is that example's share of its mean
    // token loss.
    const LossGradient d = loss_gradient(model, batch, loss, opt.recompute);
    for (const LossPart& part : d.parts) res.example_loss[members[part.group]] += part.weighted_sum * n_ex;
    // Each slot's gradients of the batch's sequences, added in sequence order in one pass.
    for (size_t slot = 0; slot < grad_on_model.size(); ++slot) {
      std::vector<Tensor> per_seq;
      for (const auto& seq : d.d_initial) per_seq.push_back(seq[slot]);
      ops::add_(grad_on_model[slot], per_seq);
    }
  }
  for (const Tensor& g : grad_on_model) res.grad.push_back(g.to(Device::cpu()));

  for (double l : res.example_loss) res.mean_loss += l / n_ex;
  double l2 = 0;
  for (size_t slot = 0; slot < model.recurrent.size(); ++slot) {
    const Tensor& s = states.states.at(slot);
    if (s.empty()) continue;
    const float* x = s.f32();
    l2 += sum_of_squares(x, s.numel());
    if (!with_gradient) continue;
    float* g = res.grad[slot].f32_mut();
    const double twice_lambda = 2.0 * opt.l2_lambda;
#pragma omp parallel for schedule(static) if (s.numel() > (int64_t{1} << 16))
    for (int64_t j = 0; j < s.numel(); ++j) g[j] += static_cast<float>(twice_lambda * x[j]);
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
