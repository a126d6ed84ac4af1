#pragma once
// Helpers shared by every test executable: where the shared fixtures are, temporary folders,
// and running the `s0` binary as a user would.
#include <sys/types.h>

#include <atomic>
#include <filesystem>
#include <functional>
#include <string>
#include <thread>
#include <vector>

namespace s0::test {

namespace fs = std::filesystem;

fs::path shared_dir();              // ../shared next to the checkout
// shared/fixtures/models/<name>, or the project's own tests/fixtures/models/<name> (the families
// made by scripts/make_family_fixtures.py).
fs::path fixture_model(const std::string& name);
std::vector<std::string> fixture_model_names();   // the four shared model folders, then the project's

// A fresh empty directory under the system temp dir, removed when the object dies.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const fs::path& path() const { return path_; }
  fs::path operator/(const std::string& name) const { return path_ / name; }

 private:
  fs::path path_;
};

struct CliResult {
  int status = -1;
  std::string out;
  std::string err;
};

// Runs the s0 binary with the given arguments (no shell), optionally feeding `input` on stdin.
CliResult run_s0(const std::vector<std::string>& args, const std::string& input = "");
// In a forked child: replaces it with the s0 binary (exit 127 if that fails).
[[noreturn]] void exec_s0(const std::vector<std::string>& args);
// Starts s0 in the background with its output discarded; returns its pid (the caller reaps it).
pid_t start_s0_silently(const std::vector<std::string>& args);

// A FIFO with no writer, given where a regular file is expected. A reader that opens it blocking
// would wait forever; so that such a reader fails the test instead of hanging it, after `patience`
// seconds a writer opens and closes the FIFO (the reader then sees an empty file). rescued() says
// whether that was needed, i.e. whether something blocked on the FIFO.
class UnwrittenFifo {
 public:
  explicit UnwrittenFifo(fs::path path, int patience_seconds = 5);
  ~UnwrittenFifo();
  UnwrittenFifo(const UnwrittenFifo&) = delete;
  UnwrittenFifo& operator=(const UnwrittenFifo&) = delete;
  const fs::path& path() const { return path_; }
  bool rescued() const { return rescued_; }

 private:
  fs::path path_;
  std::atomic<bool> stop_{false}, rescued_{false};
  std::thread rescuer_;
};

// The message of the s0::Error that `f` throws, or "(no error)".
std::string error_of(const std::function<void()>& f);

void write_text(const fs::path& path, const std::string& text);
std::string read_text(const fs::path& path);

}  // namespace s0::test
