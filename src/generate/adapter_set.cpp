#include "generate/adapter_set.h"

#include "io/adapter_file.h"
#include "io/hf_cache.h"
#include "adapter/adapter.h"

namespace s0 {

const StateSet* AdapterSet::get(const std::string& dir, std::optional<double> alpha) {
  const std::string key = dir + (alpha ? "\n" + std::to_string(*alpha) : "");
  auto it = loaded_.find(key);
  if (it != loaded_.end()) return it->second.get();
  const AdapterFile file = read_adapter(resolve_model_folder(dir));
  check_adapter_matches(file, model_, dir);
  auto states = std::make_unique<StateSet>(activate_adapter(file, model_, alpha));
  return loaded_.emplace(key, std::move(states)).first->second.get();
}

}  // namespace s0
