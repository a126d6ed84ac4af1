#pragma once
// A Scheduler driven by its own thread, for callers on other threads (the HTTP server's request
// handlers): they submit sequences and cancel them at any time; the engine thread admits them at
// the next step boundary and runs steps while there is work. The queue is bounded: at most
// max_batch running plus max_queue waiting sequences are in the engine at once, and a submission
// that does not fit is refused at once rather than queued without end.
//
// Callbacks (SequenceEvents) run on the engine thread, between or inside steps; they must be quick
// and must not call back into the engine except cancel().
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "generate/scheduler.h"

namespace s0 {

class BatchEngine {
 public:
  BatchEngine(const HybridModel& model, const SchedulerOptions& options, int64_t max_queue);
  // Aborts whatever is still queued or running (on_abort) and joins the engine thread.
  ~BatchEngine();
  BatchEngine(const BatchEngine&) = delete;
  BatchEngine& operator=(const BatchEngine&) = delete;

  enum class Admission { accepted, full, closed };
  // Queues a group of sequences (the choices of one request) together or not at all. Each is
  // validated first (an s0::Error names the problem). On acceptance, `tickets` receives one id per
  // sequence for cancel().
  Admission submit(std::vector<SequenceSpec> specs, std::vector<SequenceEvents> events, std::vector<uint64_t>& tickets);
  // Drops the sequence at the next step boundary, freeing its slot; on_finish is not called.
  void cancel(uint64_t ticket);
  // Refuses new submissions (Admission::closed) and waits until every admitted sequence has ended.
  void drain();

  struct Load {
    size_t running = 0, waiting = 0;
  };
  Load load() const;
  const HybridModel& model() const { return model_; }

 private:
  struct Pending {
    uint64_t ticket;
    SequenceSpec spec;
    SequenceEvents events;
  };
  void loop();

  const HybridModel& model_;
  const SchedulerOptions options_;
  const int64_t max_queue_;
  Scheduler scheduler_;                  // engine thread only
  std::map<uint64_t, uint64_t> admitted_;  // engine thread only: ticket -> scheduler id

  mutable std::mutex mutex_;
  std::condition_variable wake_;  // the engine thread waits for work
  std::condition_variable quiet_;  // drain() waits for the engine to empty
  std::vector<Pending> pending_;
  std::vector<uint64_t> cancels_;
  Load scheduled_;  // the scheduler's counts after the last step
  uint64_t next_ticket_ = 0;
  bool closed_ = false, stopping_ = false;
  std::thread thread_;
};

}  // namespace s0
