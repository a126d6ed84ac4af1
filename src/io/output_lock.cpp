#include "io/output_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "core/error.h"
#include "io/output_path.h"

namespace s0 {

namespace fs = std::filesystem;

namespace {

// The pid a holder wrote into the lock file, for the message ("" when unreadable).
std::string holder_of(int fd) {
  char buf[32] = {};
  const ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
  std::string s = n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s.find_first_not_of("0123456789") == std::string::npos ? s : std::string();
}

}  // namespace

OutputLock OutputLock::acquire(const fs::path& dir_given) {
  const fs::path dir = normalize_output_path(dir_given);
  OutputLock lock;
  lock.dir_ = dir;
  std::error_code ec;
  lock.created_dir_ = fs::create_directories(dir, ec);
  if (ec) fail(dir.string(), ": cannot create the folder (", ec.message(), ")");
  const fs::path path = dir / kFileName;
  // The holder removes the lock file on release, so a file opened just before that removal may be
  // locked successfully after it: lock, then check that the path still names the locked file.
  for (;;) {
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0) fail(path.string(), ": cannot create the lock file (", std::strerror(errno), ")");
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      const int err = errno;
      const std::string pid = holder_of(fd);
      ::close(fd);
      if (err == EWOULDBLOCK)
        fail(dir.string(), ": another s0 process", pid.empty() ? "" : " (pid " + pid + ")",
             " is writing this folder; wait for it to finish or stop it");
      fail(path.string(), ": cannot lock (", std::strerror(err), ")");
    }
    struct stat held{}, named{};
    if (::fstat(fd, &held) == 0 && ::stat(path.c_str(), &named) == 0 && held.st_ino == named.st_ino &&
        held.st_dev == named.st_dev) {
      lock.fd_ = fd;
      break;
    }
    ::close(fd);
  }
  const std::string pid = std::to_string(::getpid()) + "\n";
  // The pid only improves the message a second writer gets; failing to record it is harmless.
  const bool recorded = ::ftruncate(lock.fd_, 0) == 0 && ::pwrite(lock.fd_, pid.data(), pid.size(), 0) > 0;
  static_cast<void>(recorded);
  return lock;
}

OutputLock::OutputLock(OutputLock&& other) noexcept
    : fd_(other.fd_), dir_(std::move(other.dir_)), created_dir_(other.created_dir_) {
  other.fd_ = -1;
}

OutputLock::~OutputLock() {
  if (fd_ < 0) return;
  ::unlink((dir_ / kFileName).c_str());  // while still held, so no other process holds this file
  ::close(fd_);
  if (created_dir_) ::rmdir(dir_.c_str());  // fails, harmlessly, unless the folder is empty
}

}  // namespace s0
