#pragma once
// Adapters for serving: each folder is read, checked against the model and activated (scaled by
// its alpha) once; sequences then share the resulting initial states by pointer. Switching
// adapters between sequences never reloads or touches the model.
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "model/batch.h"
#include "model/model.h"

namespace s0 {

// Reads the adapter in `dir` (a folder or hub repo id), checks it fits `model` (the error names
// what differs) and activates it at `alpha` (null = its own or the family default), on the model's
// device.
StateSet load_activated_adapter(const HybridModel& model, const std::string& dir, std::optional<double> alpha = {});

class AdapterSet {
 public:
  explicit AdapterSet(const HybridModel& model) : model_(model) {}
  // The activated states of the adapter in `dir` at `alpha` (null = its own or the family
  // default). Fails naming what differs when the adapter belongs to another model. The pointer
  // stays valid as long as this set.
  const StateSet* get(const std::string& dir, std::optional<double> alpha = {});

 private:
  const HybridModel& model_;
  std::map<std::string, std::unique_ptr<StateSet>> loaded_;  // key: dir and alpha
};

}  // namespace s0
