#pragma once
// The safetensors format: an 8-byte little-endian header length, a JSON header mapping tensor
// names to {dtype, shape, data_offsets}, then the raw data. Reading memory-maps the file and
// validates every header entry before any tensor is handed out; writing is atomic.
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "io/file.h"

namespace s0 {

class SafetensorsFile {
 public:
  // Opens and validates: header length within the file, well-formed JSON, known dtypes, shapes
  // that match their byte ranges, ranges inside the data and not overlapping, and
  // no bytes after the last tensor's data.
  static SafetensorsFile open(const std::filesystem::path& path);

  bool has(const std::string& name) const { return entries_.count(name) != 0; }
  std::vector<std::string> names() const;
  // Shape and dtype name as written in the header (dtype may be one this engine cannot load).
  const Shape& shape(const std::string& name) const;
  const std::string& dtype_name(const std::string& name) const;
  // A view into the mapped file (no copy); errors name the file and tensor.
  Tensor tensor(const std::string& name) const;
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  const std::filesystem::path& path() const { return file_->path(); }

 private:
  struct Entry {
    std::string dtype;
    Shape shape;
    size_t begin = 0, end = 0;
  };
  const Entry& entry(const std::string& name) const;
  std::shared_ptr<const MappedFile> file_;
  size_t data_start_ = 0;
  std::map<std::string, Entry> entries_;
  std::map<std::string, std::string> metadata_;
};

// Serialises tensors (sorted by name) with optional string metadata.
std::string safetensors_bytes(const std::map<std::string, Tensor>& tensors,
                              const std::map<std::string, std::string>& metadata = {});
// The same bytes, written atomically.
void write_safetensors(const std::filesystem::path& path, const std::map<std::string, Tensor>& tensors,
                       const std::map<std::string, std::string>& metadata = {});

}  // namespace s0
