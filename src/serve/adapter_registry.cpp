#include "serve/adapter_registry.h"

#include "core/error.h"
#include "generate/adapter_set.h"
#include "serve/api_error.h"

namespace s0::serve {

void AdapterRegistry::load(const std::string& name, const std::string& dir, std::optional<double> alpha) {
  if (name.empty()) throw bad_request("an adapter needs a non-empty name", "name");
  auto taken = [&] { return ApiError(409, "invalid_request_error", "the name " + name + " is taken", "name"); };
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (name == base_name_ || adapters_.count(name)) throw taken();
  }
  std::shared_ptr<const StateSet> states;
  try {  // reading the folder takes a while: not under the lock
    states = std::make_shared<const StateSet>(load_activated_adapter(model_, dir, alpha));
  } catch (const Error& e) {
    throw bad_request(std::string("adapter ") + name + ": " + e.what(), "path");
  }
  std::lock_guard<std::mutex> lock(mutex_);
  if (adapters_.count(name)) throw taken();  // a concurrent load of the same name won
  adapters_[name] = {name, std::move(states), dir};
}

void AdapterRegistry::unload(const std::string& name) {
  if (name == base_name_) throw bad_request("the base model " + name + " cannot be unloaded", "name");
  std::lock_guard<std::mutex> lock(mutex_);
  if (!adapters_.erase(name))
    throw ApiError(404, "not_found_error", "there is no adapter named " + name, "name", "model_not_found");
}

ServedModel AdapterRegistry::find(const std::string& name) const {
  if (name == base_name_) return {base_name_, nullptr, ""};
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = adapters_.find(name);
  if (it == adapters_.end())
    throw ApiError(404, "not_found_error", "the model " + name + " does not exist (GET /v1/models lists them)",
                   "model", "model_not_found");
  return it->second;
}

std::vector<ServedModel> AdapterRegistry::list() const {
  std::vector<ServedModel> out = {{base_name_, nullptr, ""}};
  std::lock_guard<std::mutex> lock(mutex_);
  for (const auto& [name, m] : adapters_) out.push_back(m);
  return out;
}

}  // namespace s0::serve
