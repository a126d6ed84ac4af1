#pragma once
// One completion request in flight, between the engine thread and the HTTP thread that answers it:
// per choice a TextStream (stop strings, held-back text) fed by the engine's callbacks, and a queue
// of events -- one per generated token (its text piece, possibly empty), ends, aborts -- that the
// HTTP thread takes in order. The engine's
// callbacks hold the call by shared pointer, so it outlives a client that went away.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "generate/scheduler.h"
#include "generate/text_stream.h"
#include "serve/metrics.h"

namespace s0::serve {

class CompletionCall : public std::enable_shared_from_this<CompletionCall> {
 public:
  using Clock = std::chrono::steady_clock;
  struct Event {
    size_t choice = 0;
    std::string text;           // a piece of the choice's text (may be empty); on an end, its tail
    bool end = false;           // the choice is complete
    std::string finish_reason;  // with end: "stop" or "length"
    std::string error;          // with end: why the choice was aborted (empty when it finished)
  };

  // `metrics` and `model` receive the time to first token. `adapter` (null for the base model)
  // stays alive as long as the call, so unloading it never pulls the states from under a sequence.
  CompletionCall(const Tokenizer& tokenizer, const std::vector<std::string>& stop, size_t choices,
                 ServeMetrics& metrics, std::string model, Clock::time_point arrival,
                 std::shared_ptr<const StateSet> adapter);
  // The engine callbacks of choice `i`.
  SequenceEvents events_for(size_t i);
  // The next event, waiting up to `timeout`; nothing on timeout.
  std::optional<Event> next(std::chrono::milliseconds timeout);
  // Tokens generated so far over all choices.
  int64_t completion_tokens() const;

 private:
  void push(Event e);

  std::vector<TextStream> streams_;  // engine thread only
  ServeMetrics& metrics_;
  const std::string model_;
  const Clock::time_point arrival_;
  const std::shared_ptr<const StateSet> adapter_;
  bool saw_token_ = false;  // engine thread only
  size_t pieces_ = 0;       // engine thread only: text pieces the streams have handed out
  bool flushing_ = false;   // engine thread only: a stream's finish() is handing out its tail
  std::string flushed_;     // engine thread only: that tail

  mutable std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<Event> events_;
  int64_t completion_tokens_ = 0;
};

}  // namespace s0::serve
