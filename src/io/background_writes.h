#pragma once
// One write job at a time on a thread of its own, so that a loop (training's steps) goes on while
// its latest results are written. start() first waits for the job before it; wait() waits for the
// last one. Either rethrows what a job threw. A job still running when the object is destroyed is
// waited for, its error dropped (destruction then happens while another error unwinds).
#include <exception>
#include <functional>
#include <thread>

namespace s0 {

class BackgroundWrites {
 public:
  BackgroundWrites() = default;
  BackgroundWrites(const BackgroundWrites&) = delete;
  BackgroundWrites& operator=(const BackgroundWrites&) = delete;
  ~BackgroundWrites();

  void start(std::function<void()> job);
  void wait();

 private:
  std::thread thread_;
  std::exception_ptr error_;  // the last job's, set before its thread ends
};

}  // namespace s0
