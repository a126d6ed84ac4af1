#include "sandbox_test_support.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace s0::test {

namespace fs = std::filesystem;

const Sandbox& sandbox() {
  static const Sandbox sb = Sandbox::open(false);
  return sb;
}

std::string sandbox_unavailable_reason() {
  static const std::string reason = [] {
    if (::geteuid() == 0) return std::string();
    try {
      Sandbox::open(false);
      return std::string();
    } catch (const std::exception& e) {
      return std::string(e.what());
    }
  }();
  return reason;
}

SandboxLimits short_limits(double seconds) {
  SandboxLimits l;
  l.wall_seconds = seconds;
  l.cpu_seconds = static_cast<int>(seconds) + 1;
  return l;
}

std::string unique_marker() {
  static std::atomic<int> counter{0};
  // Digits only, so that it also reads as the fraction of a sleep duration: 999999.<pid>0<n>.
  return "999999." + std::to_string(::getpid()) + "0" + std::to_string(++counter);
}

size_t processes_with_marker(const std::string& marker) {
  size_t n = 0;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/proc", ec)) {
    std::string name = entry.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos || name == std::to_string(::getpid())) continue;
    std::ifstream in(entry.path() / "cmdline");
    std::stringstream s;
    s << in.rdbuf();
    n += s.str().find(marker) != std::string::npos;
  }
  return n;
}

size_t survivors(const std::string& marker) {
  for (int i = 0; i < 50 && processes_with_marker(marker) > 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  return processes_with_marker(marker);
}

std::string checkout_dir() { return S0_SOURCE_DIR; }

}  // namespace s0::test
