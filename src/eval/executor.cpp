#include "eval/executor.h"

#include <algorithm>
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

ProgramPool::ProgramPool(const Sandbox& sandbox, const SandboxLimits& limits, int workers)
    : sandbox_(sandbox), limits_(limits) {
  const int threads = worker_count(workers);
  for (int t = 0; t < threads; ++t) threads_.emplace_back([this] { work(); });
}

ProgramPool::~ProgramPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    closing_ = true;
    next_ = programs_.size();  // nothing more starts
  }
  changed_.notify_all();
  for (std::thread& t : threads_) t.join();
}

size_t ProgramPool::submit(std::string program) {
  size_t index = 0;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    index = programs_.size();
    programs_.push_back(std::move(program));
    results_.emplace_back();
    if (error_) ++next_, ++done_;  // dropped: nothing starts after an error
  }
  changed_.notify_one();
  return index;
}

void ProgramPool::work() {
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    changed_.wait(lock, [&] { return next_ < programs_.size() || closing_; });
    if (next_ >= programs_.size()) return;  // closing, and nothing left to start
    const size_t i = next_++;
    const std::string program = programs_[i];  // the vector may grow while it runs
    lock.unlock();
    RunResult result;
    std::exception_ptr error;
    try {
      result = sandbox_.run(program, limits_);
    } catch (...) {
      error = std::current_exception();
    }
    lock.lock();
    results_[i] = std::move(result);
    ++done_;
    if (error && !error_) {
      error_ = error;
      done_ += programs_.size() - next_;  // the queued ones are dropped
      next_ = programs_.size();
    }
    if (progress_ && !error) progress_->advance();
    changed_.notify_all();
  }
}

std::vector<RunResult> ProgramPool::finish(Progress* progress) {
  std::unique_lock<std::mutex> lock(mutex_);
  progress_ = progress;
  if (progress_ && done_ > 0) progress_->advance(static_cast<int64_t>(done_));
  changed_.wait(lock, [&] { return done_ == programs_.size(); });
  progress_ = nullptr;
  if (error_) std::rethrow_exception(error_);
  return results_;
}

std::vector<RunResult> run_programs(const Sandbox& sandbox, const std::vector<std::string>& programs,
                                    const SandboxLimits& limits, int workers, Progress* progress) {
  const int threads = std::min(worker_count(workers), static_cast<int>(std::max<size_t>(programs.size(), 1)));
  ProgramPool pool(sandbox, limits, threads);
  for (const std::string& p : programs) pool.submit(p);
  return pool.finish(progress);
}

}  // namespace s0
