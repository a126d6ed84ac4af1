#pragma once
// Reading files: whole, memory-mapped, or through an open descriptor. Every reader opens through
// InputFile, which accepts regular files only, so a FIFO, socket, device or directory given where
// data is expected is one clear error instead of a hang or a misleading parse. Writing lives in
// io/atomic_file.h (included here for the callers that do both).
#include <cstddef>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "io/atomic_file.h"

namespace s0 {

namespace fs = std::filesystem;

// An open, read-only descriptor of a regular file; closed when the object dies.
class InputFile {
 public:
  // Opens without blocking (O_NONBLOCK, so a FIFO with no writer cannot hang the open) and fails,
  // naming the path and what it is, unless it is a regular file.
  static InputFile open(const fs::path& path);
  InputFile(InputFile&& other) noexcept;
  InputFile& operator=(InputFile&&) = delete;
  InputFile(const InputFile&) = delete;
  ~InputFile();

  int fd() const { return fd_; }
  size_t size() const { return size_; }  // at open time
  const fs::path& path() const { return path_; }
  // Reads up to `n` bytes into `buf`, retrying on EINTR; returns 0 at the end of the file.
  size_t read_some(char* buf, size_t n);

 private:
  InputFile(int fd, size_t size, fs::path path) : fd_(fd), size_(size), path_(std::move(path)) {}
  int fd_ = -1;
  size_t size_ = 0;
  fs::path path_;
};

std::string read_file(const fs::path& path);

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
