#pragma once
// Helpers shared by every test executable: where the shared fixtures are, temporary folders,
// and running the `s0` binary as a user would.
#include <filesystem>
#include <string>
#include <vector>

namespace s0::test {

namespace fs = std::filesystem;

fs::path shared_dir();              // ../shared next to the checkout
fs::path fixture_model(const std::string& name);  // shared/fixtures/models/<name>
std::vector<std::string> fixture_model_names();   // the four shared model folders

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

void write_text(const fs::path& path, const std::string& text);
std::string read_text(const fs::path& path);

}  // namespace s0::test
