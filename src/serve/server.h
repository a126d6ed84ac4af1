#pragma once
// `s0 serve`: an OpenAI-compatible HTTP server over the continuous-batching engine. Routes:
//   POST /v1/completions, POST /v1/chat/completions  (stream: server-sent events, `data: [DONE]`)
//   GET /v1/models; POST /v1/adapters {name, path, alpha?}; DELETE /v1/adapters/NAME
//   GET /health; GET /metrics (Prometheus text)
// Every failure is an OpenAI-style error object with its 4xx/5xx status; a full queue is 429; a
// streaming client that goes away has its sequences cancelled at the next step. HTTP itself is
// cpp-httplib's: no request parsing is written here.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "generate/batch_engine.h"
#include "generate/model_session.h"
#include "serve/adapter_registry.h"
#include "serve/completion_call.h"
#include "serve/completion_request.h"
#include "serve/metrics.h"
#include "serve/openai_format.h"

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace s0::serve {

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 8000;  // 0: any free port (see bind())
  SchedulerOptions scheduler;  // max_batch: sequences decoded together
  int64_t max_queue = 64;      // sequences waiting for a slot before requests get 429
  std::string api_key;         // when set, /v1/ routes need "Authorization: Bearer KEY"
  std::string base_name;       // the name the base model answers to (`model` field)
};

class Server {
 public:
  Server(ModelSession& session, const ServerOptions& options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  AdapterRegistry& adapters() { return adapters_; }
  // Binds the listening socket; returns the port (the chosen one for port 0). Fails (s0::Error)
  // when the address cannot be bound.
  int bind();
  // Serves until shutdown(); returns once every request has been answered.
  void run();
  // Stops accepting generation (503), lets running and queued requests finish and be written, then
  // stops the listener. Callable from any thread (a signal watcher); returns when done.
  void shutdown();

 private:
  using Handler = std::function<void(const httplib::Request&, httplib::Response&)>;
  using Clock = std::chrono::steady_clock;
  // A completion request accepted by the engine.
  struct Admitted {
    std::shared_ptr<CompletionCall> call;
    std::vector<uint64_t> tickets;  // its sequences in the engine
    ResponseHead head;
    std::string model;
    int64_t prompt_tokens = 0;
    size_t n = 1;
    bool stream = false, include_usage = false;
    std::shared_ptr<void> in_flight;  // held until the answer is written (answer_in_flight)
  };
  Handler guarded(Handler handler, bool needs_key);
  void complete(const httplib::Request& req, httplib::Response& res, bool chat);
  // Checks the request against the model and the context, tokenises it and submits its choices;
  // an ApiError (and a `rejected` count) when it cannot be served.
  Admitted admit(const CompletionRequest& r, Clock::time_point arrival);
  void answer_whole(const Admitted& a, httplib::Response& res);
  void answer_stream(const Admitted& a, httplib::Response& res);
  std::vector<int64_t> prompt_tokens(const CompletionRequest& r) const;
  int64_t max_tokens_for(const CompletionRequest& r, int64_t prompt_tokens) const;

  ModelSession& session_;
  ServerOptions options_;
  TextGenerator plain_;
  std::optional<TextGenerator> chat_;
  std::string chat_missing_;  // why chat_ is empty
  AdapterRegistry adapters_;
  ServeMetrics metrics_;
  BatchEngine engine_;
  std::unique_ptr<httplib::Server> http_;
  const int64_t started_;  // seconds since the epoch, for `created`

  std::atomic<uint64_t> next_id_{0};
  std::atomic<bool> draining_{false};
  std::atomic<bool> run_called_{false};
  int listen_socket_ = -1;

  // Answers still being written (a stream until its last event): httplib's stop() cuts streams
  // short, so shutdown() waits for these first.
  std::shared_ptr<void> answer_in_flight();
  std::mutex answers_mutex_;
  std::condition_variable answers_quiet_;
  int64_t answers_ = 0;
};

}  // namespace s0::serve
