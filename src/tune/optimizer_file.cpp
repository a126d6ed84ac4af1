#include "tune/optimizer_file.h"

#include <cstring>
#include <map>
#include <sstream>

#include "core/digest.h"
#include "core/error.h"
#include "io/adapter_file.h"
#include "io/safetensors.h"

namespace s0 {

namespace {

constexpr const char* kStepKey = "s0.adam_step";
constexpr const char* kLayersKey = "s0.trained_layers";
constexpr const char* kStatesKey = "s0.states_fnv1a64";
constexpr const char* kDataKey = "s0.data_fnv1a64";

Tensor doubles(const std::vector<double>& v) {
  Tensor t = Tensor::empty({static_cast<int64_t>(v.size())}, DType::F64);
  std::memcpy(t.raw_mut(), v.data(), v.size() * sizeof(double));
  return t;
}

}  // namespace

std::string trained_states_digest(const HybridModel& model, const StateSet& states, const std::vector<int>& layers) {
  std::string bytes;
  for (int layer : layers) {
    const Tensor& t = states.states.at(static_cast<size_t>(model.recurrent_slot_of_layer(layer)));
    bytes.append(static_cast<const char*>(t.raw()), t.nbytes());
  }
  return content_digest(bytes);
}

std::string examples_digest(const std::vector<Example>& examples) {
  std::string bytes;
  for (const Example& e : examples) {
    const int64_t header[2] = {static_cast<int64_t>(e.ids.size()), e.prompt_len};
    bytes.append(reinterpret_cast<const char*>(header), sizeof header);
    bytes.append(reinterpret_cast<const char*>(e.ids.data()), e.ids.size() * sizeof(int64_t));
  }
  return content_digest(bytes);
}

void write_optimizer(const std::filesystem::path& dir, const AdamState& adam, const std::vector<int>& layers,
                     const std::string& states_digest, const std::string& data_digest) {
  std::map<std::string, Tensor> tensors;
  std::string layer_list;
  for (size_t k = 0; k < layers.size(); ++k) {
    const std::string layer = std::to_string(layers[k]);
    tensors["m." + layer] = doubles(adam.m.at(k));
    tensors["v." + layer] = doubles(adam.v.at(k));
    layer_list += (k ? "," : "") + layer;
  }
  write_safetensors(dir / kOptimizerFile, tensors,
                    {{kStepKey, std::to_string(adam.t)},
                     {kLayersKey, layer_list},
                     {kStatesKey, states_digest},
                     {kDataKey, data_digest}});
}

SavedOptimizer read_optimizer(const std::filesystem::path& dir) {
  const std::filesystem::path path = dir / kOptimizerFile;
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec))
    fail(path.string(), ": not found (only a run trained by this version of s0 can be resumed)");
  const SafetensorsFile file = SafetensorsFile::open(path);
  const auto& md = file.metadata();
  auto field = [&](const char* key) -> const std::string& {
    auto it = md.find(key);
    if (it == md.end()) fail(path.string(), ": no \"", key, "\" in its metadata");
    return it->second;
  };
  SavedOptimizer saved;
  saved.states_digest = field(kStatesKey);
  saved.data_digest = field(kDataKey);
  try {
    saved.adam.t = std::stoi(field(kStepKey));
  } catch (const std::exception&) {
    fail(path.string(), ": \"", kStepKey, "\" is not a step count");
  }
  std::stringstream list(field(kLayersKey));
  for (std::string layer; std::getline(list, layer, ',');) {
    try {
      saved.layers.push_back(std::stoi(layer));
    } catch (const std::exception&) {
      fail(path.string(), ": \"", kLayersKey, "\" holds \"", layer, "\", not a layer");
    }
    for (const char* moment : {"m.", "v."}) {
      const std::string name = moment + layer;
      if (!file.has(name)) fail(path.string(), ": no tensor \"", name, "\"");
      const Tensor t = file.tensor(name);
      if (t.dtype() != DType::F64 || t.rank() != 1)
        fail(path.string(), ": tensor \"", name, "\" is not a 1-D F64 tensor");
      const double* p = t.as<double>();
      (moment[0] == 'm' ? saved.adam.m : saved.adam.v).emplace_back(p, p + t.numel());
    }
  }
  if (saved.adam.t < 1 || saved.layers.empty()) fail(path.string(), ": records no training step");
  return saved;
}

}  // namespace s0
