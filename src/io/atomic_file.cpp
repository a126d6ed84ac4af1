#include "io/atomic_file.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <random>

#include "core/error.h"
#include "io/output_path.h"

namespace s0 {

namespace fs = std::filesystem;

namespace {

std::string temporary_prefix(const std::string& target_name) { return "." + target_name + ".s0-tmp-"; }

fs::path directory_of(const fs::path& target) {
  return target.parent_path().empty() ? fs::path(".") : target.parent_path();
}

// The writer's process id in a temporary's name, or -1 when the name is not one of ours.
long temporary_owner(const std::string& entry, const std::string& target_name) {
  const std::string prefix = temporary_prefix(target_name);
  if (entry.compare(0, prefix.size(), prefix) != 0) return -1;
  const size_t dash = entry.find('-', prefix.size());
  if (dash == std::string::npos || dash == prefix.size() || dash + 1 == entry.size()) return -1;
  long pid = 0;
  for (size_t i = prefix.size(); i < dash; ++i) {
    if (entry[i] < '0' || entry[i] > '9' || pid > 1'000'000'000) return -1;
    pid = pid * 10 + (entry[i] - '0');
  }
  for (size_t i = dash + 1; i < entry.size(); ++i)
    if (entry[i] < '0' || entry[i] > '9') return -1;
  return pid;
}

bool process_exists(long pid) { return ::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM; }

}  // namespace

bool is_temporary_of(const std::string& entry, const std::string& target_name) {
  return temporary_owner(entry, target_name) >= 0;
}

void remove_stale_temporaries(const fs::path& target) {
  const std::string name = target.filename().string();
  std::error_code ec;
  for (fs::directory_iterator it(directory_of(target), ec), end; !ec && it != end; it.increment(ec)) {
    const long owner = temporary_owner(it->path().filename().string(), name);
    if (owner > 0 && owner != ::getpid() && !process_exists(owner)) fs::remove(it->path(), ec);
  }
}

StagedFile::StagedFile(const fs::path& target, std::string_view data) : target_(normalize_output_path(target)) {
  std::random_device rd;
  temporary_ = directory_of(target_) /
               (temporary_prefix(target_.filename().string()) + std::to_string(::getpid()) + "-" + std::to_string(rd()));
  const int fd = ::open(temporary_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) {
    const int err = errno;
    temporary_.clear();
    fail(target_.string(), ": cannot create (", std::strerror(err), ")");
  }
  size_t off = 0;
  int err = 0;
  while (off < data.size() && !err) {
    const ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n >= 0) off += static_cast<size_t>(n);
    else if (errno != EINTR) err = errno;
  }
  if (!err && ::fsync(fd) != 0) err = errno;
  if (::close(fd) != 0 && !err) err = errno;
  if (err) {
    ::unlink(temporary_.c_str());
    temporary_.clear();
    fail(target_.string(), ": write failed (", std::strerror(err), ")");
  }
}

StagedFile::StagedFile(StagedFile&& other) noexcept
    : target_(std::move(other.target_)), temporary_(std::move(other.temporary_)) {
  other.temporary_.clear();
}

StagedFile::~StagedFile() {
  if (!temporary_.empty()) ::unlink(temporary_.c_str());
}

void StagedFile::commit() {
  if (::rename(temporary_.c_str(), target_.c_str()) != 0) {
    const int err = errno;
    fail(target_.string(), ": cannot replace (", std::strerror(err), ")");
  }
  temporary_.clear();
}

void sync_directory(const fs::path& dir) {
  const int fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) fail(dir.string(), ": cannot open the directory to flush it (", std::strerror(errno), ")");
  // Some file systems cannot fsync a directory (EINVAL); their renames are as durable as they get.
  const int rc = ::fsync(fd), err = errno;
  ::close(fd);
  if (rc != 0 && err != EINVAL) fail(dir.string(), ": cannot flush the directory (", std::strerror(err), ")");
}

void write_file_atomic(const fs::path& path, std::string_view data) {
  StagedFile file(path, data);
  file.commit();
  const fs::path target = normalize_output_path(path);
  sync_directory(directory_of(target));
  remove_stale_temporaries(target);
}

}  // namespace s0
