#include "support/test_support.h"

#include "core/error.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace s0::test {

// The environment may point elsewhere: on a GPU machine the checkout travels without ../shared, and
// scripts/pack-for-device.sh carries the fixtures and the binaries beside the tests.
fs::path shared_dir() {
  const char* dir = std::getenv("S0_SHARED_DIR");
  return fs::path(dir && *dir ? dir : S0_SHARED_DIR);
}
// On a GPU machine scripts/pack-for-device.sh packs the project's fixtures beside the shared ones.
fs::path fixture_model(const std::string& name) {
  const fs::path shared = shared_dir() / "fixtures" / "models" / name;
  const fs::path own = fs::path(S0_SOURCE_DIR) / "tests" / "fixtures" / "models" / name;
  return fs::exists(shared) || !fs::exists(own) ? shared : own;
}
std::vector<std::string> fixture_model_names() {
  return {"qwen35-text", "qwen35-vl-tied", "falcon-h1", "falcon-h1-plain",
          "qwen35-moe-text", "qwen35-moe-vl-tied", "qwen3-next", "bamba", "granite-h-moe-tied", "nemotron-h",
          "nemotron-h-moe"};
}

TempDir::TempDir() {
  std::random_device rd;
  path_ = fs::temp_directory_path() / ("s0-test-" + std::to_string(::getpid()) + "-" + std::to_string(rd()));
  fs::create_directories(path_);
}
TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

namespace {
std::string drain(int fd) {
  std::string out;
  char buf[65536];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  return out;
}
}  // namespace

void exec_s0(const std::vector<std::string>& args) {
  std::vector<char*> argv;
  const char* env_bin = std::getenv("S0_BIN");
  std::string bin = env_bin && *env_bin ? env_bin : S0_BIN;
  argv.push_back(bin.data());
  std::vector<std::string> copy = args;
  for (auto& a : copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  ::execv(bin.c_str(), argv.data());
  _exit(127);
}

pid_t start_s0_silently(const std::vector<std::string>& args) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    const int devnull = ::open("/dev/null", O_WRONLY);
    ::dup2(devnull, 1);
    ::dup2(devnull, 2);
    exec_s0(args);
  }
  return pid;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

CliResult run_s0(const std::vector<std::string>& args, const std::string& input) {
  ::signal(SIGPIPE, SIG_IGN);  // a child that exits before reading stdin must not kill the test
  int in_pipe[2], out_pipe[2], err_pipe[2];
  if (::pipe(in_pipe) || ::pipe(out_pipe) || ::pipe(err_pipe)) throw std::runtime_error("pipe failed");
  pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(in_pipe[0], 0);
    ::dup2(out_pipe[1], 1);
    ::dup2(err_pipe[1], 2);
    for (int fd : {in_pipe[0], in_pipe[1], out_pipe[0], out_pipe[1], err_pipe[0], err_pipe[1]}) ::close(fd);
    exec_s0(args);
  }
  ::close(in_pipe[0]);
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);
  std::thread feeder([&] {
    size_t off = 0;
    while (off < input.size()) {
      ssize_t n = ::write(in_pipe[1], input.data() + off, input.size() - off);
      if (n <= 0) break;
      off += static_cast<size_t>(n);
    }
    ::close(in_pipe[1]);
  });
  CliResult r;
  std::thread err_reader([&] { r.err = drain(err_pipe[0]); });
  r.out = drain(out_pipe[0]);
  err_reader.join();
  feeder.join();
  ::close(out_pipe[0]);
  ::close(err_pipe[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

UnwrittenFifo::UnwrittenFifo(fs::path path, int patience_seconds) : path_(std::move(path)) {
  if (::mkfifo(path_.c_str(), 0644) != 0) throw std::runtime_error("mkfifo failed: " + path_.string());
  rescuer_ = std::thread([this, patience_seconds] {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(patience_seconds);
    while (!stop_) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      if (std::chrono::steady_clock::now() < deadline) continue;
      const int fd = ::open(path_.c_str(), O_WRONLY | O_NONBLOCK);  // succeeds only while a reader waits
      if (fd >= 0) {
        ::close(fd);
        rescued_ = true;
      }
    }
  });
}

UnwrittenFifo::~UnwrittenFifo() {
  stop_ = true;
  rescuer_.join();
}

void write_text(const fs::path& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary);
  f << text;
}

std::string read_text(const fs::path& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

}  // namespace s0::test
