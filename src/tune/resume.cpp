#include "tune/resume.h"

#include <cmath>

#include "adapter/adapter.h"
#include "core/error.h"
#include "core/strings.h"
#include "io/adapter_file.h"
#include "tune/optimizer_file.h"

namespace s0 {

namespace {

std::string layer_list(const std::vector<int>& layers) {
  std::vector<std::string> parts;
  for (int l : layers) parts.push_back(std::to_string(l));
  return join(parts, ",");
}

}  // namespace

TrainResume resume_run(const std::filesystem::path& dir, const HybridModel& model, const TrainConfig& cfg,
                       const std::vector<int>& layers, const std::vector<Example>& examples) {
  const std::string where = "--resume: " + dir.string();
  const AdapterFile adapter = read_adapter(dir);
  check_adapter_matches(adapter, model, dir.string());
  const SavedOptimizer saved = read_optimizer(dir);

  // The flags that shape the arithmetic must be the run's own; --steps is the new total.
  const AdapterConfig& was = adapter.config;
  auto same = [&](const char* flag, double now, double then) {
    if (now != then && !(std::isnan(now) && std::isnan(then)))
      fail(where, ": ", flag, " is ", now, " but the run used ", then, " (resume with the run's own flags)");
  };
  same("--lr", cfg.lr, was.lr);
  same("--l2", cfg.l2_lambda, was.l2_lambda);
  same("--grad-clip", cfg.grad_clip, was.grad_clip);
  same("--max-length", static_cast<double>(cfg.max_length), static_cast<double>(was.max_length));
  same("--alpha", cfg.alpha.value_or(NAN), was.alpha.value_or(NAN));
  if (cfg.normalize != was.normalize)
    fail(where, ": --normalize is ", cfg.normalize ? "on" : "off", " but the run had it ", was.normalize ? "on" : "off");
  if (cfg.variant != was.variant)
    fail(where, ": --variant is ", variant_name(cfg.variant), " but the run trained ", variant_name(was.variant));
  if (saved.layers != layers)
    fail(where, ": --layers selects ", layer_list(layers), " but the run trained ", layer_list(saved.layers));
  for (size_t k = 0; k < layers.size(); ++k) {
    const int64_t n = numel_of(model.recurrent[static_cast<size_t>(model.recurrent_slot_of_layer(layers[k]))].state_shape);
    if (static_cast<int64_t>(saved.adam.m[k].size()) != n || static_cast<int64_t>(saved.adam.v[k].size()) != n)
      fail(where, ": ", kOptimizerFile, " holds moments of the wrong size for layer ", layers[k]);
  }
  if (cfg.n_steps <= saved.adam.t)
    fail(where, ": the run has taken ", saved.adam.t, " steps already; --steps must be more than that to go on");
  if (saved.data_digest != examples_digest(examples))
    fail(where, ": the training data (or its order: --seed) differs from the run's");

  TrainResume resume;
  resume.states.variant = was.variant;
  for (const RecurrentLayer& r : model.recurrent) {
    auto it = adapter.states.find(r.layer);
    resume.states.states.push_back(it == adapter.states.end() ? Tensor::zeros(r.state_shape) : it->second.clone());
  }
  if (saved.states_digest != trained_states_digest(model, resume.states, layers))
    fail(where, ": ", kOptimizerFile, " does not belong to the states in states.safetensors (a run stopped while "
         "writing them, or states edited by hand): train again without --resume");
  resume.adam = saved.adam;
  return resume;
}

}  // namespace s0
