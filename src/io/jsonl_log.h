#pragma once
// A log of JSON lines that other tools read while it grows (`--log-jsonl`): each record is one
// line appended with a single write, so a reader never sees half a record, and a resumed run
// appends to what the earlier one wrote. An empty path makes a log that records nothing.
#include <filesystem>

#include "io/json.h"

namespace s0 {

class JsonLinesLog {
 public:
  explicit JsonLinesLog(const std::filesystem::path& path);
  ~JsonLinesLog();
  JsonLinesLog(const JsonLinesLog&) = delete;
  JsonLinesLog& operator=(const JsonLinesLog&) = delete;

  // Appends `record` as one line; fails naming the file when it cannot.
  void append(const Json& record);

 private:
  std::filesystem::path path_;
  int fd_ = -1;
};

}  // namespace s0
