#include "io/file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/error.h"

namespace s0 {

namespace {

const char* file_kind(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO (named pipe)";
  if (S_ISSOCK(mode)) return "a socket";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  return "not a regular file";
}

[[noreturn]] void fail_not_regular(const fs::path& path, mode_t mode) {
  fail(path.string(), ": is ", file_kind(mode), ", expected a regular file");
}

}  // namespace

InputFile InputFile::open(const fs::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    struct stat st{};
    if (::stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode)) fail_not_regular(path, st.st_mode);  // a socket: ENXIO
    if (err == ENOENT) fail(path.string(), ": file not found");
    fail(path.string(), ": cannot open (", std::strerror(err), ")");
  }
  struct stat st{};
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    fail(path.string(), ": cannot stat (", std::strerror(err), ")");
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    fail_not_regular(path, st.st_mode);
  }
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);  // regular files ignore it; reads block as usual
  return InputFile(fd, static_cast<size_t>(st.st_size), path);
}

InputFile::InputFile(InputFile&& other) noexcept : fd_(other.fd_), size_(other.size_), path_(std::move(other.path_)) {
  other.fd_ = -1;
}

InputFile::~InputFile() {
  if (fd_ >= 0) ::close(fd_);
}

size_t InputFile::read_some(char* buf, size_t n) {
  for (;;) {
    const ssize_t got = ::read(fd_, buf, n);
    if (got >= 0) return static_cast<size_t>(got);
    if (errno != EINTR) fail(path_.string(), ": read error (", std::strerror(errno), ")");
  }
}

std::string read_file(const fs::path& path) {
  InputFile in = InputFile::open(path);
  std::string out;
  out.reserve(in.size());
  char buf[1 << 16];
  while (size_t n = in.read_some(buf, sizeof buf)) out.append(buf, n);
  return out;
}

std::shared_ptr<const MappedFile> MappedFile::open(const fs::path& path) {
  InputFile in = InputFile::open(path);
  std::shared_ptr<MappedFile> m(new MappedFile());
  m->path_ = path;
  m->size_ = in.size();
  if (m->size_ > 0) {
    void* p = ::mmap(nullptr, m->size_, PROT_READ, MAP_PRIVATE, in.fd(), 0);
    if (p == MAP_FAILED) fail(path.string(), ": mmap failed (", std::strerror(errno), ")");
    m->data_ = static_cast<const unsigned char*>(p);
  }
  return m;
}

MappedFile::~MappedFile() {
  if (data_) ::munmap(const_cast<unsigned char*>(data_), size_);
}

}  // namespace s0
