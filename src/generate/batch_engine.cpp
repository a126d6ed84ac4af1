#include "generate/batch_engine.h"

#include "core/error.h"
#include "ops/device_runtime.h"

namespace s0 {

BatchEngine::BatchEngine(const HybridModel& model, const SchedulerOptions& options, int64_t max_queue)
    : model_(model), options_(options), max_queue_(max_queue), scheduler_(model, options) {
  if (max_queue < 0) fail("queue length must be 0 or more, got ", max_queue);
  thread_ = std::thread([this] { loop(); });
}

BatchEngine::~BatchEngine() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

BatchEngine::Admission BatchEngine::submit(std::vector<SequenceSpec> specs, std::vector<SequenceEvents> events,
                                           std::vector<uint64_t>& tickets) {
  for (const SequenceSpec& s : specs) validate_sequence(model_, s, "the prompt");
  std::lock_guard<std::mutex> lock(mutex_);
  if (closed_ || stopping_) return Admission::closed;
  const size_t in_engine = pending_.size() + scheduled_.running + scheduled_.waiting;
  if (in_engine + specs.size() > static_cast<size_t>(options_.max_batch + max_queue_)) return Admission::full;
  tickets.clear();
  for (size_t i = 0; i < specs.size(); ++i) {
    tickets.push_back(next_ticket_++);
    pending_.push_back({tickets.back(), std::move(specs[i]), std::move(events[i])});
  }
  wake_.notify_all();
  return Admission::accepted;
}

void BatchEngine::cancel(uint64_t ticket) {
  std::lock_guard<std::mutex> lock(mutex_);
  cancels_.push_back(ticket);
  wake_.notify_all();
}

void BatchEngine::drain() {
  std::unique_lock<std::mutex> lock(mutex_);
  closed_ = true;
  quiet_.wait(lock, [&] { return pending_.empty() && scheduled_.running == 0 && scheduled_.waiting == 0; });
}

BatchEngine::Load BatchEngine::load() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return {scheduled_.running, scheduled_.waiting + pending_.size()};
}

void BatchEngine::loop() {
  ops::activate_device(model_.device());  // a GPU is current per thread; this one runs the steps
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    wake_.wait(lock, [&] { return stopping_ || !pending_.empty() || !cancels_.empty() || !scheduler_.idle(); });
    for (Pending& p : pending_) {
      const uint64_t ticket = p.ticket;
      // The sequence forgets its ticket when it ends, so a late cancel() finds nothing.
      std::function<void(Generation&&)> finish = std::move(p.events.on_finish);
      p.events.on_finish = [this, ticket, finish = std::move(finish)](Generation&& g) {
        admitted_.erase(ticket);
        if (finish) finish(std::move(g));
      };
      admitted_[ticket] = scheduler_.add(std::move(p.spec), std::move(p.events));
    }
    pending_.clear();
    for (uint64_t ticket : cancels_) {
      auto it = admitted_.find(ticket);
      if (it == admitted_.end()) continue;
      scheduler_.cancel(it->second);
      admitted_.erase(it);
    }
    cancels_.clear();
    if (stopping_) {
      scheduled_ = {};
      quiet_.notify_all();
      lock.unlock();
      scheduler_.abort_all("the server is shutting down");
      return;
    }
    scheduled_ = {scheduler_.running(), scheduler_.waiting()};
    if (scheduler_.idle()) {
      quiet_.notify_all();
      continue;
    }
    lock.unlock();
    try {
      scheduler_.step();
    } catch (const std::exception& e) {
      // A failed step leaves the caches half-extended: no sequence of it can go on.
      scheduler_.abort_all(std::string("generation failed: ") + e.what());
      admitted_.clear();
    }
    lock.lock();
    scheduled_ = {scheduler_.running(), scheduler_.waiting()};
    if (scheduler_.idle()) quiet_.notify_all();
  }
}

}  // namespace s0
