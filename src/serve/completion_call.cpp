#include "serve/completion_call.h"

namespace s0::serve {

CompletionCall::CompletionCall(const Tokenizer& tokenizer, const std::vector<std::string>& stop, size_t choices,
                               ServeMetrics& metrics, std::string model, Clock::time_point arrival,
                               std::shared_ptr<const StateSet> adapter)
    : metrics_(metrics), model_(std::move(model)), arrival_(arrival), adapter_(std::move(adapter)) {
  for (size_t i = 0; i < choices; ++i)
    streams_.emplace_back(tokenizer, stop, [this, i](const std::string& piece) {
      ++pieces_;
      if (flushing_) flushed_ += piece;
      else push({i, piece, false, "", ""});
    });
}

void CompletionCall::push(Event e) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    events_.push_back(std::move(e));
  }
  ready_.notify_all();
}

SequenceEvents CompletionCall::events_for(size_t i) {
  std::shared_ptr<CompletionCall> self = shared_from_this();
  SequenceEvents ev;
  ev.on_token = [self, i](int64_t token) {
    if (!self->saw_token_) {
      self->saw_token_ = true;
      self->metrics_.first_token(self->model_, std::chrono::duration<double>(Clock::now() - self->arrival_).count());
    }
    {
      std::lock_guard<std::mutex> lock(self->mutex_);
      ++self->completion_tokens_;
    }
    // One event per token, empty while the stream holds its text back (a stop string may be
    // forming, or a character is incomplete): a streaming client sees every token arrive.
    const size_t before = self->pieces_;
    const bool stop = self->streams_[i].push(token);
    if (self->pieces_ == before) self->push({i, "", false, "", ""});
    return stop;
  };
  ev.on_finish = [self, i](Generation&& g) {
    // What the stream still held back goes with the end, so each token stays one event.
    self->flushing_ = true;
    self->streams_[i].finish();
    self->flushing_ = false;
    // An EOS ends the text as a stop string does; only the length limit differs.
    self->push({i, std::move(self->flushed_), true, g.finish == FinishReason::length ? "length" : "stop", ""});
    self->flushed_.clear();
  };
  ev.on_abort = [self, i](const std::string& reason) { self->push({i, "", true, "", reason}); };
  return ev;
}

std::optional<CompletionCall::Event> CompletionCall::next(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mutex_);
  if (!ready_.wait_for(lock, timeout, [&] { return !events_.empty(); })) return std::nullopt;
  Event e = std::move(events_.front());
  events_.pop_front();
  return e;
}

int64_t CompletionCall::completion_tokens() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return completion_tokens_;
}

}  // namespace s0::serve
