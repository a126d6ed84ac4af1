#include "eval/executor.h"

#include <algorithm>
#include <atomic>
#include <exception>
#include <mutex>
#include <thread>

namespace s0 {

std::vector<RunResult> run_programs(const Sandbox& sandbox, const std::vector<std::string>& programs,
                                    const SandboxLimits& limits, int workers) {
  std::vector<RunResult> results(programs.size());
  size_t threads = workers > 0 ? static_cast<size_t>(workers) : std::max(1u, std::thread::hardware_concurrency());
  threads = std::min(threads, std::max<size_t>(programs.size(), 1));
  std::atomic<size_t> next{0};
  std::exception_ptr error;
  std::mutex error_mutex;
  auto work = [&] {
    for (size_t i = next++; i < programs.size(); i = next++) {
      try {
        results[i] = sandbox.run(programs[i], limits);
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
