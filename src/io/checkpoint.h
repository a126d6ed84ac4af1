#pragma once
// A Hugging Face model folder: config.json plus weights in model.safetensors or in shards listed by
// model.safetensors.index.json. Tensors are memory-mapped views; nothing is converted here.
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "io/json.h"
#include "io/safetensors.h"

namespace s0 {

class Checkpoint {
 public:
  static Checkpoint open(const std::filesystem::path& dir);

  const std::filesystem::path& dir() const { return dir_; }
  const Json& config() const { return config_; }
  std::string config_path() const { return (dir_ / "config.json").string(); }

  bool has(const std::string& name) const { return where_.count(name) != 0; }
  std::vector<std::string> names() const;
  const Shape& shape(const std::string& name) const { return file_of(name).shape(name); }
  const std::string& dtype_name(const std::string& name) const { return file_of(name).dtype_name(name); }
  Tensor tensor(const std::string& name) const { return file_of(name).tensor(name); }
  // The file that holds `name` (for error messages).
  std::string file_name(const std::string& name) const { return file_of(name).path().filename().string(); }
  // Where weights come from, for error messages about tensors that are absent.
  std::string weights_description() const;

 private:
  const SafetensorsFile& file_of(const std::string& name) const;
  std::filesystem::path dir_;
  Json config_;
  std::vector<SafetensorsFile> files_;
  std::map<std::string, size_t> where_;
};

}  // namespace s0
