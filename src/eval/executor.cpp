#include "eval/executor.h"

#include <algorithm>
#include <atomic>
#include <exception>
#include <mutex>
#include <thread>

#include "core/error.h"

namespace s0 {

namespace {
int cores() { return static_cast<int>(std::max(1u, std::thread::hardware_concurrency())); }
}  // namespace

int max_workers() { return std::clamp(4 * cores(), 4, 64); }

int check_workers(int n, const char* flag) {
  if (n < 1 || n > max_workers())
    fail(flag, " must be between 1 and ", max_workers(), " (four per core, at most 64), got ", n);
  return n;
}

int worker_count(int requested) { return requested == 0 ? cores() : check_workers(requested, "workers"); }

std::vector<RunResult> run_programs(const Sandbox& sandbox, const std::vector<std::string>& programs,
                                    const SandboxLimits& limits, int workers, Progress* progress) {
  std::vector<RunResult> results(programs.size());
  size_t threads = static_cast<size_t>(worker_count(workers));
  threads = std::min(threads, std::max<size_t>(programs.size(), 1));
  std::atomic<size_t> next{0};
  std::exception_ptr error;
  std::mutex error_mutex;
  auto work = [&] {
    for (size_t i = next++; i < programs.size(); i = next++) {
      try {
        results[i] = sandbox.run(programs[i], limits);
        if (progress) progress->advance();
      } catch (...) {
        std::lock_guard<std::mutex> lock(error_mutex);
        if (!error) error = std::current_exception();
        next = programs.size();  // stop handing out work
      }
    }
  };
  std::vector<std::thread> pool;
  for (size_t t = 0; t < threads; ++t) pool.emplace_back(work);
  for (std::thread& t : pool) t.join();
  if (error) std::rethrow_exception(error);
  return results;
}

}  // namespace s0
