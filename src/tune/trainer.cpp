#include "tune/trainer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <sstream>

#include "core/error.h"
#include "core/finite.h"
#include "core/ordered_sum.h"
#include "core/strings.h"
#include "tune/adam.h"

namespace s0 {

std::vector<int> parse_layer_selection(const std::string& spec, const HybridModel& model) {
  std::vector<int> all;
  for (const RecurrentLayer& r : model.recurrent) all.push_back(r.layer);
  if (spec.empty() || spec == "all") return all;
  // The paper's layer ablation: the recurrent layers in three consecutive thirds (the first third
  // takes layers [0, n/3), and so on, rounding the boundaries down), so a 3-layer model has one each.
  const std::vector<std::string> thirds = {"early", "middle", "late"};
  const auto third = std::find(thirds.begin(), thirds.end(), spec);
  if (third != thirds.end()) {
    const size_t k = static_cast<size_t>(third - thirds.begin()), n = all.size();
    const auto first = static_cast<std::ptrdiff_t>(n * k / 3), last = static_cast<std::ptrdiff_t>(n * (k + 1) / 3);
    if (first == last) fail("layer selection \"", spec, "\": the model has only ", n, " recurrent layers");
    // Erased from `all` rather than copied by iterator range: g++ 12 warns (-Wfree-nonheap-object)
    // on that range copy, falsely.
    all.erase(all.begin() + last, all.end());
    all.erase(all.begin(), all.begin() + first);
    return all;
  }
  std::vector<int> out, not_recurrent;
  std::stringstream ss(spec);
  std::string part;
  while (std::getline(ss, part, ',')) {
    int lo = 0, hi = 0;
    char dash = 0;
    std::stringstream ps(part);
    if (!(ps >> lo)) fail("layer selection \"", spec, "\": \"", part, "\" is not a layer or range like 0-7");
    hi = lo;
    if (ps >> dash) {
      if (dash != '-' || !(ps >> hi)) fail("layer selection \"", spec, "\": \"", part, "\" is not a range like 0-7");
    }
    if (hi < lo) fail("layer selection \"", spec, "\": range ", part, " is empty");
    if (lo < 0) fail("layer selection \"", spec, "\": layer ", lo, " is negative");
    // Every named layer must exist and be recurrent, in a range as much as alone: a range reaching
    // over attention layers or past the model is a mistake to point out, not to trim silently.
    const int n_blocks = static_cast<int>(model.blocks.size());
    if (hi >= n_blocks)
      fail("layer selection \"", spec, "\": the model has ", n_blocks, " layers (0-", n_blocks - 1,
           "), there is no layer ", hi);
    for (int l = lo; l <= hi; ++l) {
      std::vector<int>& into = model.recurrent_slot_of_layer(l) >= 0 ? out : not_recurrent;
      if (std::find(into.begin(), into.end(), l) == into.end()) into.push_back(l);
    }
  }
  if (!not_recurrent.empty()) {
    std::sort(not_recurrent.begin(), not_recurrent.end());
    std::vector<std::string> bad, have;
    for (int l : not_recurrent) bad.push_back(std::to_string(l));
    for (int l : all) have.push_back(std::to_string(l));
    fail("layer selection \"", spec, "\": ", bad.size() == 1 ? "layer " : "layers ", join(bad, ","),
         bad.size() == 1 ? " is not a recurrent layer" : " are not recurrent layers",
         " of the model (its recurrent layers: ", join(have, ","), ")");
  }
  if (out.empty()) fail("layer selection \"", spec, "\" selects no recurrent layer");
  std::sort(out.begin(), out.end());
  return out;
}

namespace {

// dst = src over n floats, on every core (a trained state set is tens of MB).
void copy_floats(const float* src, int64_t n, float* dst) {
#pragma omp parallel for schedule(static) if (n > (int64_t{1} << 16))
  for (int64_t i = 0; i < n; ++i) dst[i] = src[i];
}

// Runs the step callback's wait when train_states leaves, also by an exception (whose error then
// wins over the wait's): the states and moments a background reader holds are train_states' locals.
struct WaitOnExit {
  const std::function<void()>& wait;
  ~WaitOnExit() {
    if (!wait) return;
    try {
      wait();
    } catch (...) {
    }
  }
};

}  // namespace

std::optional<std::string> update_states(Adam& adam, std::vector<Tensor>& params, std::vector<Tensor>& grads,
                                         double objective, StepReport& rep) {
  bool finite = std::isfinite(objective);
  for (const Tensor& g : grads) finite = finite && all_finite(g.f32(), g.numel());
  if (!finite)
    return std::string("the ") + (std::isfinite(objective) ? "gradient" : "loss") +
           " is not finite (NaN or inf); stopped before updating";
  // A finite gradient can still step the states to infinity (a huge learning rate): keep the
  // states from before the update, so what is reported and saved is always the last finite set.
  std::vector<Tensor> before;
  for (const Tensor& p : params) {
    before.push_back(Tensor::empty(p.shape()));
    copy_floats(p.f32(), p.numel(), before.back().f32_mut());
  }
  rep.grad_norm = adam.step(params, grads);
  bool states_finite = true;
  for (const Tensor& p : params) states_finite = states_finite && all_finite(p.f32(), p.numel());
  if (!states_finite) {
    for (size_t k = 0; k < params.size(); ++k) copy_floats(before[k].f32(), before[k].numel(), params[k].f32_mut());
    return std::string(
        "the update made the states non-finite (NaN or inf; is the learning rate too large?); kept the states from "
        "before it");
  }
  double norms = 0;
  rep.state_norms.clear();
  for (const Tensor& p : params) {
    rep.state_norms.push_back(std::sqrt(sum_of_squares(p.f32(), p.numel())));
    norms += rep.state_norms.back();
  }
  rep.mean_state_norm = norms / static_cast<double>(params.size());
  return std::nullopt;
}

TrainResult train_states(const HybridModel& model, const std::vector<Example>& examples, const TrainConfig& cfg,
                         const TrainOptions& opt, const StepCallback& on_step) {
  require_finite(cfg.lr, "lr");
  require_finite(cfg.l2_lambda, "l2_lambda");
  require_finite(cfg.grad_clip, "grad_clip");
  if (cfg.alpha) require_finite(*cfg.alpha, "alpha");
  TrainResult res;
  res.layers = opt.layers.empty() ? parse_layer_selection("all", model) : opt.layers;
  std::vector<int> slots;
  for (int l : res.layers) slots.push_back(model.recurrent_slot_of_layer(l));

  // Every recurrent layer has a state in the forward; only the selected ones are trained.
  StateSet states;
  states.variant = cfg.variant;
  for (size_t slot = 0; slot < model.recurrent.size(); ++slot) {
    const Shape& shape = model.recurrent[slot].state_shape;
    const std::vector<Tensor>* resumed = opt.resume ? &opt.resume->states.states : nullptr;
    const Tensor* from = resumed && slot < resumed->size() && !(*resumed)[slot].empty() ? &(*resumed)[slot] : nullptr;
    if (from && from->shape() != shape)
      fail("internal: a resumed state of shape ", shape_str(from->shape()), " for a layer of ", shape_str(shape));
    states.states.push_back(from ? from->clone() : Tensor::zeros(shape));
  }
  std::vector<Tensor> params;
  for (int s : slots) params.push_back(states.states[static_cast<size_t>(s)]);  // shares storage
  Adam adam({cfg.lr, 0.9, 0.999, 1e-8, cfg.grad_clip}, params, opt.resume ? &opt.resume->adam : nullptr);
  ObjectiveOptions oo{cfg.l2_lambda, opt.max_batch_tokens, opt.recompute};
  const WaitOnExit readers_done{opt.before_states_change};

  auto finish = [&](StateSet st) {
    res.states.states.assign(model.recurrent.size(), Tensor());
    res.states.variant = st.variant;
    for (int s : slots) res.states.states[static_cast<size_t>(s)] = st.states[static_cast<size_t>(s)].clone();
  };
  for (int step = adam.steps_taken() + 1; step <= cfg.n_steps; ++step) {
    const auto t0 = std::chrono::steady_clock::now();
    ObjectiveResult r = objective_and_gradient(model, examples, states, oo);
    std::vector<Tensor> grads;
    for (int s : slots) grads.push_back(r.grad[static_cast<size_t>(s)]);
    if (opt.before_states_change) opt.before_states_change();
    StepReport rep;
    rep.step = step;
    rep.mean_loss = r.mean_loss;
    rep.objective = r.objective;
    if (const std::optional<std::string> stop = update_states(adam, params, grads, r.objective, rep)) {
      res.stopped_non_finite = true;
      res.stop_reason = "step " + std::to_string(step) + ": " + *stop;
      break;
    }
    rep.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    res.steps.push_back(rep);
    if (on_step) on_step(rep, states, adam.state());
  }
  if (opt.before_states_change) opt.before_states_change();
  finish(states);
  return res;
}

}  // namespace s0
