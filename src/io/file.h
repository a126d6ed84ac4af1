#pragma once
// Reading whole files, memory-mapping them, and writing them atomically (temporary name in the
// same directory, flush, fsync, rename), so an interrupted run never leaves a half-written file.
#include <cstddef>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

namespace s0 {

namespace fs = std::filesystem;

std::string read_file(const fs::path& path);

// Writes `data` to `path` atomically; `path` either appears whole or is left as it was.
void write_file_atomic(const fs::path& path, std::string_view data);

// A read-only memory map of a whole file; the mapping lives as long as the object.
class MappedFile {
 public:
  static std::shared_ptr<const MappedFile> open(const fs::path& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const unsigned char* data() const { return data_; }
  size_t size() const { return size_; }
  const fs::path& path() const { return path_; }

 private:
  MappedFile() = default;
  const unsigned char* data_ = nullptr;
  size_t size_ = 0;
  fs::path path_;
};

}  // namespace s0
