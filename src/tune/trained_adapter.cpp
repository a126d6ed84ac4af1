#include "tune/trained_adapter.h"

namespace s0 {

AdapterFile make_adapter_file(const HybridModel& model, const TrainResult& trained, const TrainConfig& cfg) {
  AdapterFile a;
  a.config = {cfg.n_steps, cfg.lr, cfg.l2_lambda, cfg.alpha, cfg.normalize, cfg.grad_clip, cfg.max_length, cfg.variant};
  a.arch = model.recurrent.at(0).arch;
  a.state_shape = model.recurrent.at(0).state_shape;
  // Every recurrent layer gets a state, as the library's load() requires; layers left out of
  // training keep zeros (which start a sequence exactly as no state does).
  for (size_t slot = 0; slot < model.recurrent.size(); ++slot) {
    const RecurrentLayer& r = model.recurrent[slot];
    const Tensor* s = slot < trained.states.states.size() ? &trained.states.states[slot] : nullptr;
    a.layers.push_back(r.layer);
    a.states[r.layer] = s && !s->empty() ? s->clone() : Tensor::zeros(r.state_shape);
  }
  for (int layer : trained.layers) a.trained_layers.push_back(layer);
  return a;
}

}  // namespace s0
