#include "tune/adapter.h"

#include <cmath>

#include "core/error.h"
#include "core/strings.h"

namespace s0 {

double default_alpha(const std::string& arch) {
  if (arch == "gated_delta_net") return 0.07;
  if (arch == "mamba2") return 0.65;
  fail("no default alpha for recurrent layers of kind \"", arch, "\"");
}

AdapterFile make_adapter_file(const HybridModel& model, const TrainResult& trained, const TrainConfig& cfg) {
  AdapterFile a;
  a.config = {cfg.n_steps, cfg.lr, cfg.l2_lambda, cfg.alpha, cfg.normalize, cfg.grad_clip, cfg.max_length};
  a.arch = model.recurrent.at(0).arch;
  a.state_shape = model.recurrent.at(0).state_shape;
  for (int layer : trained.layers) {
    a.layers.push_back(layer);
    a.states[layer] = trained.states.states.at(static_cast<size_t>(model.recurrent_slot_of_layer(layer))).clone();
  }
  return a;
}

void check_adapter_matches(const AdapterFile& a, const HybridModel& model, const std::string& where) {
  if (model.recurrent.empty()) fail(where, ": the model has no recurrent layers to adapt");
  const RecurrentLayer& r0 = model.recurrent[0];
  if (a.arch != r0.arch)
    fail(where, ": adapter is for ", a.arch, " layers, the model's recurrent layers are ", r0.arch);
  if (a.state_shape != r0.state_shape)
    fail(where, ": adapter state shape ", shape_str(a.state_shape), " differs from the model's ",
         shape_str(r0.state_shape));
  for (int64_t layer : a.layers)
    if (model.recurrent_slot_of_layer(static_cast<int>(layer)) < 0) {
      std::vector<std::string> have;
      for (const RecurrentLayer& r : model.recurrent) have.push_back(std::to_string(r.layer));
      fail(where, ": adapter has a state for layer ", layer, ", which is not a recurrent layer of the model (",
           join(have, ","), ")");
    }
}

StateSet activate_adapter(const AdapterFile& a, const HybridModel& model, std::optional<double> alpha) {
  check_adapter_matches(a, model, "adapter");
  const double scale = alpha ? *alpha : a.config.alpha ? *a.config.alpha : default_alpha(a.arch);
  StateSet set;
  set.states.assign(model.recurrent.size(), Tensor());
  for (const auto& [layer, t] : a.states) {
    Tensor s = t.clone();
    double factor = scale;
    if (a.config.normalize) {
      double sq = 0;
      for (int64_t i = 0; i < s.numel(); ++i) sq += static_cast<double>(s.f32()[i]) * s.f32()[i];
      if (sq > 0) factor /= std::sqrt(sq);
    }
    for (int64_t i = 0; i < s.numel(); ++i) s.f32_mut()[i] = static_cast<float>(s.f32()[i] * factor);
    set.states[static_cast<size_t>(model.recurrent_slot_of_layer(static_cast<int>(layer)))] = s;
  }
  return set;
}

}  // namespace s0
