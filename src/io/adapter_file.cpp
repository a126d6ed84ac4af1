#include "io/adapter_file.h"

#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <optional>
#include <set>
#include <thread>
#include <tuple>

#include "core/digest.h"
#include "core/error.h"
#include "core/finite.h"
#include "io/file.h"
#include "io/json.h"
#include "io/output_lock.h"
#include "io/output_path.h"
#include "io/safetensors.h"

namespace s0 {

namespace fs = std::filesystem;

namespace {

// "variant" is s0's own: written only for a state-offset adapter, whose states the library must not
// take for initial states, and which its load() therefore refuses (an unknown key).
const std::set<std::string> kConfigKeys = {"n_steps", "lr", "l2_lambda", "alpha", "normalize", "grad_clip",
                                           "max_length", "variant"};
const std::set<std::string> kArchs = {"gated_delta_net", "mamba2"};
constexpr const char* kConfigFile = "config.json";
constexpr const char* kMetaFile = "meta.json";
constexpr const char* kStatesFile = "states.safetensors";
const char* const kAdapterFiles[] = {kConfigFile, kMetaFile, kStatesFile};
// Safetensors metadata keys of states.safetensors naming the config.json and meta.json it belongs to.
constexpr const char* kConfigDigestKey = "s0.config_fnv1a64";
constexpr const char* kMetaDigestKey = "s0.meta_fnv1a64";

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
  if (j.contains("variant")) {
    if (!j["variant"].is_string()) fail(origin, ": \"variant\" must be a string (s0 or state-offset)");
    c.variant = parse_variant(j["variant"].get<std::string>(), cat(origin, ": \"variant\""));
  }
  return c;
}

// The library's config.json, key for key (it refuses any other key), plus "variant" for a
// state-offset adapter only.
Json config_json(const AdapterConfig& c) {
  Json j{{"n_steps", c.n_steps},      {"lr", c.lr},
         {"l2_lambda", c.l2_lambda},  {"alpha", c.alpha ? Json(*c.alpha) : Json(nullptr)},
         {"normalize", c.normalize},  {"grad_clip", c.grad_clip},
         {"max_length", c.max_length}};
  if (c.variant != AdapterVariant::s0) j["variant"] = variant_name(c.variant);
  return j;
}

// The three files as read at one moment, and which versions of them were read.
struct AdapterSnapshot {
  std::string config, meta;
  SafetensorsFile states;
  std::vector<std::tuple<ino_t, off_t, int64_t>> versions;  // inode, size, mtime (ns) per file
};

AdapterSnapshot read_snapshot(const fs::path& dir) {
  AdapterSnapshot s{read_file(dir / kConfigFile), read_file(dir / kMetaFile),
                    SafetensorsFile::open(dir / kStatesFile), {}};
  for (const char* name : kAdapterFiles) {
    struct stat st{};
    if (::stat((dir / name).c_str(), &st) == 0)
      s.versions.emplace_back(st.st_ino, st.st_size, st.st_mtim.tv_sec * 1'000'000'000ll + st.st_mtim.tv_nsec);
  }
  return s;
}

// States written by s0 name the config.json and meta.json they belong to; the library's do not.
bool belong_together(const AdapterSnapshot& s) {
  const auto& md = s.states.metadata();
  const auto c = md.find(kConfigDigestKey), m = md.find(kMetaDigestKey);
  if (c == md.end() || m == md.end()) return true;
  return c->second == content_digest(s.config) && m->second == content_digest(s.meta);
}

// A writer killed between its renames leaves the files it had not renamed yet as complete, fsynced
// temporaries (everything is staged before the first rename, and the next writer removes them only
// after its own renames): the adapter it was writing is those plus the ones already renamed.
// Returns it, if the folder holds such a set.
std::optional<AdapterSnapshot> finish_interrupted_write(const fs::path& dir, const AdapterSnapshot& s) {
  std::vector<std::string> configs{s.config}, metas{s.meta};
  std::vector<fs::path> states{dir / kStatesFile};
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    try {
      if (is_temporary_of(name, kConfigFile)) configs.push_back(read_file(it->path()));
      if (is_temporary_of(name, kMetaFile)) metas.push_back(read_file(it->path()));
    } catch (const Error&) {  // removed meanwhile: not part of any set
    }
    if (is_temporary_of(name, kStatesFile)) states.push_back(it->path());
  }
  for (const fs::path& path : states) {
    try {
      AdapterSnapshot candidate{"", "", SafetensorsFile::open(path), s.versions};
      const auto& md = candidate.states.metadata();
      const auto c = md.find(kConfigDigestKey), m = md.find(kMetaDigestKey);
      if (c == md.end() || m == md.end()) continue;
      for (const std::string& config : configs)
        for (const std::string& meta : metas)
          if (content_digest(config) == c->second && content_digest(meta) == m->second) {
            candidate.config = config;
            candidate.meta = meta;
            return candidate;
          }
    } catch (const Error&) {  // still being written by a live writer, or removed meanwhile
    }
  }
  return std::nullopt;
}

// Reads until the three files belong together, or until they have stayed as they are long enough
// to say that no writer is replacing them (a writer renames the three within microseconds): then
// they are either an interrupted write, finished from its temporaries, or edited by hand.
AdapterSnapshot read_consistent_snapshot(const fs::path& dir) {
  using Clock = std::chrono::steady_clock;
  constexpr std::chrono::milliseconds kSettled(100), kGiveUp(10000);
  const auto start = Clock::now();
  AdapterSnapshot s = read_snapshot(dir);
  auto unchanged_since = Clock::now();
  while (!belong_together(s)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    AdapterSnapshot next = read_snapshot(dir);
    const bool changed = next.versions != s.versions;
    s = std::move(next);
    if (changed) unchanged_since = Clock::now();
    else if (Clock::now() - unchanged_since >= kSettled) {
      if (std::optional<AdapterSnapshot> finished = finish_interrupted_write(dir, s)) return std::move(*finished);
      break;  // edited by hand: read as it is
    }
    if (Clock::now() - start > kGiveUp)
      fail(dir.string(), ": the adapter kept changing while being read (is a writer replacing it in a loop?)");
  }
  return s;
}

}  // namespace

AdapterFile read_adapter(const fs::path& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) fail(dir.string(), ": not an adapter folder (no such directory)");
  AdapterFile a;
  const fs::path cfg_path = dir / kConfigFile, meta_path = dir / kMetaFile, st_path = dir / kStatesFile;
  const AdapterSnapshot snap = read_consistent_snapshot(dir);
  a.config = parse_config(parse_json(snap.config, cfg_path.string()), cfg_path.string());
  const Json meta = parse_json(snap.meta, meta_path.string());
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
  const SafetensorsFile& st = snap.states;
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

void check_adapter_output(const fs::path& dir_given, bool overwrite) {
  const fs::path dir = normalize_output_path(dir_given);
  std::error_code ec;
  const fs::file_status status = fs::status(dir, ec);
  if (!fs::exists(status)) return;
  if (!fs::is_directory(status)) fail(dir.string(), ": is not an adapter folder; refusing to replace it");
  bool holds_adapter = false;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    bool ours = name == OutputLock::kFileName || name == kOptimizerFile || is_temporary_of(name, kOptimizerFile);
    for (const char* file : kAdapterFiles) {
      if (name == file) holds_adapter = ours = true;
      ours = ours || is_temporary_of(name, file);
    }
    if (!ours)
      fail(dir.string(), ": is not an adapter folder (it holds \"", name, "\"); refusing to replace it");
  }
  if (ec) fail(dir.string(), ": cannot list the folder (", ec.message(), ")");
  if (holds_adapter && !overwrite) fail(dir.string(), ": already exists (pass --force to replace it)");
}

void write_adapter(const fs::path& dir_given, const AdapterFile& a, bool overwrite) {
  const fs::path dir = normalize_output_path(dir_given);
  // Callers check their numbers; a non-finite state here is a bug, never something to save.
  for (const auto& [layer, t] : a.states)
    if (first_non_finite(t.f32(), t.numel()) >= 0)
      fail("internal error: refusing to write a non-finite state for layer ", layer, " to ", dir.string());
  check_adapter_output(dir, overwrite);
  std::error_code ec;
  const bool created = fs::create_directories(dir, ec);
  if (ec) fail(dir.string(), ": cannot create the folder (", ec.message(), ")");

  const std::string config = dump_finite_json(config_json(a.config)) + "\n";
  Json meta_json = {{"arch", a.arch}, {"recurrent_layers", a.layers}, {"state_shape", a.state_shape}};
  if (!a.trained_layers.empty()) meta_json["trained_layers"] = a.trained_layers;
  const std::string meta = dump_finite_json(meta_json) + "\n";
  std::map<std::string, Tensor> tensors;
  for (const auto& [layer, t] : a.states) tensors[std::to_string(layer)] = t;
  const std::string states =
      safetensors_bytes(tensors, {{kConfigDigestKey, content_digest(config)}, {kMetaDigestKey, content_digest(meta)}});

  // Everything is staged (written and fsynced) before anything is renamed, states last, so that the
  // renames follow each other within microseconds. A file whose bytes are already there is left as
  // it is: during training only states.safetensors changes.
  auto unchanged = [&](const fs::path& path, const std::string& bytes) {
    if (!fs::is_regular_file(path, ec)) return false;
    try {
      return read_file(path) == bytes;
    } catch (const Error&) {
      return false;  // unreadable: rewrite it
    }
  };
  std::vector<StagedFile> staged;
  if (!unchanged(dir / kConfigFile, config)) staged.emplace_back(dir / kConfigFile, config);
  if (!unchanged(dir / kMetaFile, meta)) staged.emplace_back(dir / kMetaFile, meta);
  staged.emplace_back(dir / kStatesFile, states);
  for (StagedFile& f : staged) f.commit();
  sync_directory(dir);
  // Only now, with the folder whole again, may what killed writers left behind go: until then it
  // may be what finish_interrupted_write needs to read their adapter.
  for (const char* name : kAdapterFiles) remove_stale_temporaries(dir / name);
  if (created) sync_directory(dir.parent_path().empty() ? fs::path(".") : dir.parent_path());
}

}  // namespace s0
