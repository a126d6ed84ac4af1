#include "generate/adapter_set.h"

#include "io/adapter_file.h"
#include "io/hf_cache.h"
#include "adapter/adapter.h"
#include "core/error.h"
#include "ops/device_runtime.h"

namespace s0 {

StateSet load_activated_adapter(const HybridModel& model, const std::string& dir, std::optional<double> alpha) {
  const AdapterFile file = read_adapter(resolve_model_folder(dir));
  check_adapter_matches(file, model, dir);
  StateSet states = activate_adapter(file, model, alpha);
  if (model.device().is_cpu()) return states;
  // The states go where the model is, once; the calling thread (an HTTP handler, say) may not have
  // made that GPU current yet.
  ops::activate_device(model.device());
  for (Tensor& s : states.states)
    if (!s.empty()) s = s.to(model.device());
  return states;
}

const StateSet* AdapterSet::get(const std::string& dir, std::optional<double> alpha) {
  std::string key = dir;
  if (alpha) key.append(1, '\n').append(std::to_string(*alpha));
  auto it = loaded_.find(key);
  if (it != loaded_.end()) return it->second.get();
  auto states = std::make_unique<StateSet>(load_activated_adapter(model_, dir, alpha));
  return loaded_.emplace(key, std::move(states)).first->second.get();
}

}  // namespace s0
