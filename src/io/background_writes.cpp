#include "io/background_writes.h"

#include <utility>

namespace s0 {

BackgroundWrites::~BackgroundWrites() {
  if (thread_.joinable()) thread_.join();
}

void BackgroundWrites::start(std::function<void()> job) {
  wait();
  thread_ = std::thread([this, job = std::move(job)] {
    try {
      job();
    } catch (...) {
      error_ = std::current_exception();
    }
  });
}

void BackgroundWrites::wait() {
  if (thread_.joinable()) thread_.join();
  if (error_) std::rethrow_exception(std::exchange(error_, nullptr));
}

}  // namespace s0
