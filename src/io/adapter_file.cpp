#include "io/adapter_file.h"

#include <algorithm>
#include <random>
#include <set>

#include "core/error.h"
#include "core/finite.h"
#include "io/file.h"
#include "io/json.h"
#include "io/safetensors.h"

namespace s0 {

namespace fs = std::filesystem;

namespace {

const std::set<std::string> kConfigKeys = {"n_steps", "lr", "l2_lambda", "alpha", "normalize", "grad_clip",
                                           "max_length"};
const std::set<std::string> kArchs = {"gated_delta_net", "mamba2"};

AdapterConfig parse_config(const Json& j, const std::string& origin) {
  if (!j.is_object()) fail(origin, ": expected a JSON object");
  for (auto it = j.begin(); it != j.end(); ++it)
    if (!kConfigKeys.count(it.key())) fail(origin, ": unknown key \"", it.key(), "\"");
  // Python's json (and so the library) reads NaN and Infinity; as a state's scale or an optimizer
  // setting they only ever produce NaN states, so each number must be finite.
  auto finite_number = [&](const std::string& key, double def) {
    const double v = json_number_or(j, key, def, origin);
    require_finite(v, cat(origin, ": \"", key, "\""));
    return v;
  };
  AdapterConfig c;
  c.n_steps = json_int_or(j, "n_steps", c.n_steps, origin);
  c.lr = finite_number("lr", c.lr);
  c.l2_lambda = finite_number("l2_lambda", c.l2_lambda);
  if (j.contains("alpha") && !j["alpha"].is_null()) c.alpha = finite_number("alpha", 0.0);
  c.normalize = json_bool_or(j, "normalize", c.normalize, origin);
  c.grad_clip = finite_number("grad_clip", c.grad_clip);
  c.max_length = json_int_or(j, "max_length", c.max_length, origin);
  return c;
}

// The library's config.json, key for key (it refuses any other key).
Json config_json(const AdapterConfig& c) {
  return Json{{"n_steps", c.n_steps},      {"lr", c.lr},
              {"l2_lambda", c.l2_lambda},  {"alpha", c.alpha ? Json(*c.alpha) : Json(nullptr)},
              {"normalize", c.normalize},  {"grad_clip", c.grad_clip},
              {"max_length", c.max_length}};
}

}  // namespace

AdapterFile read_adapter(const fs::path& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) fail(dir.string(), ": not an adapter folder (no such directory)");
  AdapterFile a;
  const fs::path cfg_path = dir / "config.json", meta_path = dir / "meta.json", st_path = dir / "states.safetensors";
  a.config = parse_config(load_json_file(cfg_path), cfg_path.string());
  const Json meta = load_json_file(meta_path);
  const std::string mo = meta_path.string();
  a.arch = json_string(meta, "arch", mo);
  if (!kArchs.count(a.arch)) fail(mo, ": arch \"", a.arch, "\" is neither \"gated_delta_net\" nor \"mamba2\"");
  const Json& layers = json_field(meta, "recurrent_layers", mo);
  const Json& shape = json_field(meta, "state_shape", mo);
  if (!layers.is_array() || layers.empty()) fail(mo, ": recurrent_layers must be a non-empty list of layer indices");
  if (!shape.is_array() || shape.size() != 3) fail(mo, ": state_shape must be a list of 3 dimensions");
  for (const Json& l : layers) {
    if (!l.is_number_unsigned()) fail(mo, ": recurrent_layers holds ", l.dump(), ", not a layer index");
    a.layers.push_back(l.get<int64_t>());
  }
  if (meta.contains("trained_layers")) {
    const Json& trained = meta["trained_layers"];
    if (!trained.is_array()) fail(mo, ": trained_layers must be a list of layer indices");
    for (const Json& l : trained) {
      if (!l.is_number_unsigned() || std::find(a.layers.begin(), a.layers.end(), l.get<int64_t>()) == a.layers.end())
        fail(mo, ": trained_layers holds ", l.dump(), ", which is not one of recurrent_layers");
      a.trained_layers.push_back(l.get<int64_t>());
    }
  }
  for (const Json& d : shape) {
    if (!d.is_number_unsigned() || d.get<int64_t>() == 0) fail(mo, ": state_shape holds ", d.dump());
    a.state_shape.push_back(d.get<int64_t>());
  }
  SafetensorsFile st = SafetensorsFile::open(st_path);
  for (int64_t layer : a.layers) {
    const std::string key = std::to_string(layer);
    if (!st.has(key)) fail(st_path.string(), ": no state for layer ", layer, " listed in meta.json");
    Tensor t = st.tensor(key);
    if (t.dtype() != DType::F32) fail(st_path.string(), ": state \"", key, "\" is ", dtype_name(t.dtype()), ", expected F32");
    if (t.shape() != a.state_shape)
      fail(st_path.string(), ": state \"", key, "\" has shape ", shape_str(t.shape()), ", meta.json says ",
           shape_str(a.state_shape));
    const int64_t bad = first_non_finite(t.f32(), t.numel());
    if (bad >= 0)
      fail(st_path.string(), ": the state of layer ", layer, " holds ", t.f32()[bad], " at element ", bad,
           " (states must be finite)");
    a.states[layer] = t.clone();
  }
  for (const std::string& n : st.names())
    if (!a.states.count(std::atoll(n.c_str())) || std::to_string(std::atoll(n.c_str())) != n)
      fail(st_path.string(), ": tensor \"", n, "\" is not a layer listed in meta.json");
  return a;
}

void write_adapter(const fs::path& dir, const AdapterFile& a, bool overwrite) {
  // Callers check their numbers; a non-finite state here is a bug, never something to save.
  for (const auto& [layer, t] : a.states)
    if (first_non_finite(t.f32(), t.numel()) >= 0)
      fail("internal error: refusing to write a non-finite state for layer ", layer, " to ", dir.string());
  std::error_code ec;
  if (fs::exists(dir, ec) && !overwrite) fail(dir.string(), ": already exists (pass --force to replace it)");
  fs::path parent = dir.parent_path().empty() ? fs::path(".") : dir.parent_path();
  fs::create_directories(parent, ec);
  std::random_device rd;
  const fs::path tmp = parent / (dir.filename().string() + ".tmp" + std::to_string(rd()));
  fs::create_directory(tmp, ec);
  if (ec) fail(tmp.string(), ": cannot create (", ec.message(), ")");
  try {
    std::map<std::string, Tensor> tensors;
    for (const auto& [layer, t] : a.states) tensors[std::to_string(layer)] = t;
    write_safetensors(tmp / "states.safetensors", tensors);
    write_file_atomic(tmp / "config.json", dump_finite_json(config_json(a.config)) + "\n");
    Json meta = {{"arch", a.arch}, {"recurrent_layers", a.layers}, {"state_shape", a.state_shape}};
    if (!a.trained_layers.empty()) meta["trained_layers"] = a.trained_layers;
    write_file_atomic(tmp / "meta.json", dump_finite_json(meta) + "\n");
    // Replace: move an existing folder aside first so the new one appears whole.
    fs::path old;
    if (fs::exists(dir, ec)) {
      old = parent / (dir.filename().string() + ".old" + std::to_string(rd()));
      fs::rename(dir, old);
    }
    fs::rename(tmp, dir);
    if (!old.empty()) fs::remove_all(old, ec);
  } catch (...) {
    fs::remove_all(tmp, ec);
    throw;
  }
}

}  // namespace s0
