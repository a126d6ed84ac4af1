#pragma once
// The models a server answers to by name: the base model and its adapters, loaded at start or
// while serving. A request holds its adapter's states by shared pointer, so unloading an adapter
// takes its name away at once (new requests get 404) while its running requests finish on the
// states they started with; the memory goes with the last of them.
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "model/batch.h"
#include "model/model.h"

namespace s0::serve {

struct ServedModel {
  std::string name;
  std::shared_ptr<const StateSet> states;  // null: the base model
  std::string dir;                         // the adapter's folder; empty for the base model
};

class AdapterRegistry {
 public:
  AdapterRegistry(const HybridModel& model, std::string base_name) : model_(model), base_name_(std::move(base_name)) {}
  // Reads, checks and activates the adapter in `dir` under `name`: 400 when it does not fit the
  // model or cannot be read, 409 when the name is taken.
  void load(const std::string& name, const std::string& dir, std::optional<double> alpha = {});
  // 404 for an unknown adapter; the base model cannot be unloaded (400).
  void unload(const std::string& name);
  // The base model or an adapter by name; 404 naming it otherwise.
  ServedModel find(const std::string& name) const;
  std::vector<ServedModel> list() const;  // the base model first
  const std::string& base_name() const { return base_name_; }

 private:
  const HybridModel& model_;
  const std::string base_name_;
  mutable std::mutex mutex_;
  std::map<std::string, ServedModel> adapters_;
};

}  // namespace s0::serve
