#include "io/checkpoint.h"

#include "core/error.h"

namespace s0 {

namespace fs = std::filesystem;

Checkpoint Checkpoint::open(const fs::path& dir) {
  Checkpoint ck;
  ck.dir_ = dir;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) fail(dir.string(), ": not a model folder (no such directory)");
  ck.config_ = load_json_file(dir / "config.json");
  if (!ck.config_.is_object()) fail(ck.config_path(), ": expected a JSON object");

  const fs::path single = dir / "model.safetensors";
  const fs::path index = dir / "model.safetensors.index.json";
  if (fs::exists(index, ec)) {
    const std::string origin = index.string();
    Json idx = load_json_file(index);
    const Json& map = json_field(idx, "weight_map", origin);
    if (!map.is_object()) fail(origin, ": weight_map must be an object");
    std::map<std::string, size_t> file_index;
    for (auto it = map.begin(); it != map.end(); ++it) {
      if (!it.value().is_string()) fail(origin, ": weight_map entry \"", it.key(), "\" is not a file name");
      const std::string shard = it.value().get<std::string>();
      if (shard.find('/') != std::string::npos || shard == "..")
        fail(origin, ": weight_map entry \"", it.key(), "\" names a file outside the folder: ", shard);
      auto f = file_index.find(shard);
      if (f == file_index.end()) {
        ck.files_.push_back(SafetensorsFile::open(dir / shard));
        f = file_index.emplace(shard, ck.files_.size() - 1).first;
      }
      if (!ck.files_[f->second].has(it.key()))
        fail(origin, ": lists tensor \"", it.key(), "\" in ", shard, ", which does not contain it");
      ck.where_[it.key()] = f->second;
    }
  } else if (fs::exists(single, ec)) {
    ck.files_.push_back(SafetensorsFile::open(single));
    for (const std::string& n : ck.files_[0].names()) ck.where_[n] = 0;
  } else {
    fail(dir.string(), ": no weights (neither model.safetensors nor model.safetensors.index.json)");
  }
  return ck;
}

std::vector<std::string> Checkpoint::names() const {
  std::vector<std::string> out;
  for (const auto& kv : where_) out.push_back(kv.first);
  return out;
}

std::string Checkpoint::weights_description() const {
  return files_.size() == 1 ? files_[0].path().string() : (dir_ / "model.safetensors.index.json").string();
}

const SafetensorsFile& Checkpoint::file_of(const std::string& name) const {
  auto it = where_.find(name);
  if (it == where_.end()) fail(weights_description(), ": missing tensor \"", name, "\"");
  return files_[it->second];
}

}  // namespace s0
