#pragma once
// The s0-tuning library's (0.1.2) load() restated in C++, from its published behaviour
// (../shared/fixtures/README.md): what a folder must satisfy for the library to accept it for a
// model. It reads the raw files, not through s0's read_adapter, so that s0's writer is checked
// against the library's rules rather than against s0's own reader.
#include <algorithm>
#include <set>
#include <string>

#include "io/json.h"
#include "io/safetensors.h"
#include "model/model.h"
#include "support/test_support.h"

namespace s0::test {

// Empty when the library would load `dir` for `model`, else the library's refusal.
inline std::string library_load_error(const std::filesystem::path& dir, const HybridModel& model) {
  std::vector<int64_t> want;
  for (const RecurrentLayer& r : model.recurrent) want.push_back(r.layer);
  const Shape shape = model.recurrent.at(0).state_shape;
  if (std::filesystem::exists(dir / "meta.json")) {
    const Json meta = parse_json(read_text(dir / "meta.json"), "meta.json");
    if (meta.value("arch", std::string()) != model.recurrent.at(0).arch) return "Architecture mismatch";
    if (!meta.contains("state_shape") || meta["state_shape"].get<Shape>() != shape) return "State shape mismatch";
    if (meta.contains("recurrent_layers") && !meta["recurrent_layers"].is_null()) {
      std::vector<int64_t> saved = meta["recurrent_layers"].get<std::vector<int64_t>>();
      std::sort(saved.begin(), saved.end());
      if (saved != want) return "Layer index mismatch";
    }
  }
  if (std::filesystem::exists(dir / "config.json")) {
    const std::set<std::string> known = {"n_steps", "lr", "l2_lambda", "alpha", "normalize", "grad_clip", "max_length"};
    const Json cfg = parse_json(read_text(dir / "config.json"), "config.json");
    for (auto it = cfg.begin(); it != cfg.end(); ++it)
      if (!known.count(it.key())) return "Unknown config keys";
  }
  if (!std::filesystem::exists(dir / "states.safetensors")) return "No states found";
  SafetensorsFile st = SafetensorsFile::open(dir / "states.safetensors");
  for (const std::string& key : st.names()) {
    if (key.empty() || key.find_first_not_of("0123456789") != std::string::npos) return "int() fails on key " + key;
    // The states are then injected as the initial state of layer int(key): the shape must fit.
    if (st.tensor(key).shape() != shape) return "state " + key + " does not fit the layer";
  }
  return "";
}

}  // namespace s0::test
