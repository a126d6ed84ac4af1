#pragma once
// Runs many sandboxed programs at once: a pool of worker threads, each driving one program's
// process at a time (the work is in the child processes; a thread per slot only waits on pipes).
#include <condition_variable>
#include <exception>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/progress.h"
#include "eval/sandbox.h"

namespace s0 {

// The most programs run at once: four per core (a program mostly waits on its interpreter's
// start), never more than 64, never fewer than 4. Beyond it a run only queues on the CPU while
// its processes and memory multiply.
int max_workers();

// `n`, checked to lie in 1..max_workers(); `flag` names the option in the message ("--workers").
int check_workers(int n, const char* flag);

// The programs run at once for a library caller: 0 means the default, one per core; anything else
// is checked by check_workers.
int worker_count(int requested);

// Programs run as they are handed in, `workers` at a time (0: one per core; outside
// 0..max_workers() is an error), so that checking can start while the rest are still being made
// (generated, say). After a program fails to run (an error, not a failing program), those still
// queued are dropped and finish() rethrows the error.
class ProgramPool {
 public:
  ProgramPool(const Sandbox& sandbox, const SandboxLimits& limits, int workers);
  ~ProgramPool();  // waits for the programs running; drops those queued
  ProgramPool(const ProgramPool&) = delete;
  ProgramPool& operator=(const ProgramPool&) = delete;

  // Queues a program (from any thread); returns its index in finish()'s results.
  size_t submit(std::string program);
  // Waits for every program handed in; their results in the order they were handed in.
  // `progress`, when set, counts the programs already done at once, then each as it ends (from
  // the workers' threads).
  std::vector<RunResult> finish(Progress* progress = nullptr);

 private:
  void work();

  const Sandbox& sandbox_;
  const SandboxLimits limits_;
  std::mutex mutex_;
  std::condition_variable changed_;  // a program queued or ended, or the pool closing
  std::vector<std::string> programs_;
  std::vector<RunResult> results_;
  size_t next_ = 0, done_ = 0;
  bool closing_ = false;
  std::exception_ptr error_;
  Progress* progress_ = nullptr;
  std::vector<std::thread> threads_;
};

// All of `programs` through one pool; results in their order.
std::vector<RunResult> run_programs(const Sandbox& sandbox, const std::vector<std::string>& programs,
                                    const SandboxLimits& limits, int workers, Progress* progress = nullptr);

}  // namespace s0
