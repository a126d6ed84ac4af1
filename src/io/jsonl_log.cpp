#include "io/jsonl_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/error.h"

namespace s0 {

JsonLinesLog::JsonLinesLog(const std::filesystem::path& path) : path_(path) {
  if (path.empty()) return;
  fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd_ < 0) fail(path.string(), ": cannot open the log for appending (", std::strerror(errno), ")");
}

JsonLinesLog::~JsonLinesLog() {
  if (fd_ >= 0) ::close(fd_);
}

void JsonLinesLog::append(const Json& record) {
  if (fd_ < 0) return;
  const std::string line = record.dump() + "\n";
  const ssize_t n = ::write(fd_, line.data(), line.size());
  if (n != static_cast<ssize_t>(line.size()))
    fail(path_.string(), ": cannot append to the log (", n < 0 ? std::strerror(errno) : "short write", ")");
}

}  // namespace s0
