#include "serve/server.h"

#include <httplib.h>
#include <sys/socket.h>

#include <algorithm>
#include <csignal>
#include <random>
#include <thread>

#include "core/error.h"
#include "serve/api_error.h"
#include "serve/completion_call.h"
#include "serve/openai_format.h"

namespace s0::serve {

namespace {

int64_t unix_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// JSON text for a client. Invalid UTF-8 (a parser's message quoting the bad bytes it read) becomes
// U+FFFD rather than an exception while answering.
std::string client_json(const Json& j) { return j.dump(-1, ' ', false, Json::error_handler_t::replace); }

void reply(httplib::Response& res, int status, const Json& body) {
  res.status = status;
  res.set_content(client_json(body), "application/json");
}

Json parse_body(const httplib::Request& req) {
  try {
    return parse_json(req.body, "the request body");
  } catch (const Error& e) {
    throw bad_request(e.what());
  }
}

// The handler threads: every running and queued sequence may hold one (a waiting client), plus a
// few for the quick routes, so that a full engine answers 429 rather than stalling connections.
// Capped: past that, connections wait for a thread instead (a huge --max-queue must not mean as
// many threads).
size_t handler_threads(const ServerOptions& o) {
  return std::min<size_t>(static_cast<size_t>(o.scheduler.max_batch + o.max_queue) + 8, 1024);
}

}  // namespace

Server::Server(ModelSession& session, const ServerOptions& options)
    : session_(session),
      options_(options),
      plain_(session.text_generator(false)),
      adapters_(session.model(), options.base_name),
      engine_(session.model(), options.scheduler, options.max_queue),
      http_(std::make_unique<httplib::Server>()),
      started_(unix_seconds()) {
  try {
    chat_.emplace(session.text_generator(true));
  } catch (const Error& e) {
    chat_missing_ = e.what();
  }
  const size_t threads = handler_threads(options);
  http_->new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  http_->set_socket_options([this](socket_t sock) {
    httplib::default_socket_options(sock);
    listen_socket_ = sock;
  });
  http_->set_payload_max_length(size_t{16} << 20);
  http_->set_read_timeout(10);
  http_->set_write_timeout(10);
  http_->set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return;
    const std::string message = res.status == 404 ? "no route " + req.method + " " + req.path
                                                  : "the request could not be served (HTTP " +
                                                        std::to_string(res.status) + ")";
    reply(res, res.status, error_body(ApiError(res.status, "invalid_request_error", message)));
  });
  http_->set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
    reply(res, 500, error_body(ApiError(500, "internal_error", "internal error")));
  });

  http_->Post("/v1/completions", guarded([this](const auto& req, auto& res) { complete(req, res, false); }, true));
  http_->Post("/v1/chat/completions", guarded([this](const auto& req, auto& res) { complete(req, res, true); }, true));
  http_->Get("/v1/models", guarded([this](const auto&, auto& res) { reply(res, 200, model_list(adapters_.list(), started_)); }, true));
  http_->Post("/v1/adapters", guarded([this](const auto& req, auto& res) {
                const Json body = parse_body(req);
                if (!body.is_object()) throw bad_request("the request body must be a JSON object");
                if (!body.contains("name") || !body["name"].is_string()) throw bad_request("name must be a string", "name");
                if (!body.contains("path") || !body["path"].is_string()) throw bad_request("path must be a string", "path");
                std::optional<double> alpha;
                if (body.contains("alpha") && !body["alpha"].is_null()) {
                  if (!body["alpha"].is_number()) throw bad_request("alpha must be a number", "alpha");
                  alpha = body["alpha"].get<double>();
                }
                const std::string name = body["name"].get<std::string>();
                adapters_.load(name, body["path"].get<std::string>(), alpha);
                reply(res, 200, {{"id", name}, {"object", "model"}, {"loaded", true}});
              }, true));
  http_->Delete(R"(/v1/adapters/(.+))", guarded([this](const auto& req, auto& res) {
                  const std::string name = req.matches[1];
                  adapters_.unload(name);
                  reply(res, 200, {{"id", name}, {"object", "model"}, {"deleted", true}});
                }, true));
  http_->Get("/health", guarded([this](const auto&, auto& res) {
               if (draining_) reply(res, 503, {{"status", "draining"}});
               else reply(res, 200, {{"status", "ok"}});
             }, false));
  http_->Get("/metrics", guarded([this](const auto&, auto& res) {
               const BatchEngine::Load load = engine_.load();
               res.set_content(metrics_.render(load.running, load.waiting, options_.scheduler.max_batch),
                               "text/plain; version=0.0.4");
             }, false));
}

Server::~Server() = default;

Server::Handler Server::guarded(Handler handler, bool needs_key) {
  return [this, handler = std::move(handler), needs_key](const httplib::Request& req, httplib::Response& res) {
    try {
      if (needs_key && !options_.api_key.empty() && req.get_header_value("Authorization") != "Bearer " + options_.api_key)
        throw ApiError(401, "authentication_error", "a valid API key is needed: Authorization: Bearer KEY");
      handler(req, res);
    } catch (const ApiError& e) {
      reply(res, e.status, error_body(e));
    } catch (const Error& e) {  // the engine's own checks of a request
      reply(res, 400, error_body(bad_request(e.what())));
    } catch (const std::bad_alloc&) {
      reply(res, 503, error_body(ApiError(503, "service_unavailable", "out of memory")));
    } catch (const std::exception& e) {
      reply(res, 500, error_body(ApiError(500, "internal_error", e.what())));
    }
  };
}

std::vector<int64_t> Server::prompt_tokens(const CompletionRequest& r) const {
  std::vector<int64_t> ids;
  if (r.chat) {
    if (!chat_) throw bad_request("chat completions need the model's chat template: " + chat_missing_, "messages");
    ids = chat_->encode_chat(r.messages, r.enable_thinking);
  } else if (r.prompt_ids) {
    ids = *r.prompt_ids;
    for (int64_t id : ids)
      if (id < 0 || id >= session_.model().vocab)
        throw bad_request("prompt token id " + std::to_string(id) + " is outside the vocabulary [0, " +
                              std::to_string(session_.model().vocab) + ")",
                          "prompt");
  } else {
    TextOptions plain;
    ids = plain_.encode_prompt(r.prompt, plain);
  }
  if (ids.empty()) throw bad_request("the prompt is empty: generation needs at least one token", r.chat ? "messages" : "prompt");
  return ids;
}

// Defaults as the OpenAI API has them: 16 tokens for completions; for chat, what the context has left.
int64_t Server::max_tokens_for(const CompletionRequest& r, int64_t prompt_tokens) const {
  const int64_t context = session_.model().max_positions;
  const std::string param = r.chat ? "messages" : "prompt";
  if (context > 0 && prompt_tokens >= context)
    throw bad_request("the prompt has " + std::to_string(prompt_tokens) + " tokens, the model's context only " +
                          std::to_string(context),
                      param);
  const int64_t chat_default = context > 0 ? context - prompt_tokens : 1024;
  const int64_t max_tokens = r.max_tokens.value_or(r.chat ? chat_default : 16);
  if (context > 0 && prompt_tokens + max_tokens > context)
    throw bad_request("the prompt's " + std::to_string(prompt_tokens) + " tokens plus max_tokens " +
                          std::to_string(max_tokens) + " exceed the model's context of " + std::to_string(context) +
                          " tokens",
                      "max_tokens");
  return max_tokens;
}

std::shared_ptr<void> Server::answer_in_flight() {
  std::lock_guard<std::mutex> lock(answers_mutex_);
  ++answers_;
  return std::shared_ptr<void>(nullptr, [this](void*) {
    std::lock_guard<std::mutex> lock(answers_mutex_);
    if (--answers_ == 0) answers_quiet_.notify_all();
  });
}

void Server::complete(const httplib::Request& req, httplib::Response& res, bool chat) {
  Admitted a = admit(parse_completion_request(parse_body(req), chat), Clock::now());
  a.in_flight = answer_in_flight();
  if (a.stream) answer_stream(a, res);
  else answer_whole(a, res);
}

Server::Admitted Server::admit(const CompletionRequest& r, Clock::time_point arrival) {
  const ServedModel served = adapters_.find(r.model);
  Admitted a;
  a.model = served.name;
  a.n = static_cast<size_t>(r.n);
  a.stream = r.stream;
  a.include_usage = r.include_usage;
  try {
    if (draining_) throw ApiError(503, "service_unavailable", "the server is shutting down");
    const std::vector<int64_t> prompt = prompt_tokens(r);
    a.prompt_tokens = static_cast<int64_t>(prompt.size());
    const int64_t max_tokens = max_tokens_for(r, a.prompt_tokens);
    if (r.n > options_.scheduler.max_batch + options_.max_queue)
      throw bad_request("n = " + std::to_string(r.n) + " is more than this server holds at once (" +
                            std::to_string(options_.scheduler.max_batch + options_.max_queue) + ")",
                        "n");
    const uint64_t seed = r.seed ? *r.seed : std::random_device{}();
    a.call = std::make_shared<CompletionCall>(session_.tokenizer(), r.stop, a.n, metrics_, served.name, arrival,
                                              served.states);
    std::vector<SequenceSpec> specs;
    std::vector<SequenceEvents> events;
    for (size_t i = 0; i < a.n; ++i) {
      // Choice i samples from stream i, as the i-th line of `s0 generate --prompts` does.
      specs.push_back({prompt, served.states.get(), {r.temperature, r.top_p, r.top_k, seed}, i, max_tokens,
                       session_.eos_ids(), false});
      events.push_back(a.call->events_for(i));
    }
    switch (engine_.submit(std::move(specs), std::move(events), a.tickets)) {
      case BatchEngine::Admission::accepted: break;
      case BatchEngine::Admission::full:
        throw ApiError(429, "rate_limit_error", "the queue is full; retry later", "", "queue_full");
      case BatchEngine::Admission::closed:
        throw ApiError(503, "service_unavailable", "the server is shutting down");
    }
  } catch (...) {
    metrics_.rejected(served.name);
    throw;
  }
  metrics_.started(served.name);
  a.head = {r.chat, std::string(r.chat ? "chatcmpl-" : "cmpl-") + std::to_string(started_) + "-" +
                        std::to_string(next_id_++),
            unix_seconds(), served.name};
  return a;
}

void Server::answer_whole(const Admitted& a, httplib::Response& res) {
  std::vector<ChoiceResult> choices(a.n);
  std::string error;
  for (size_t ended = 0; ended < a.n;) {
    const std::optional<CompletionCall::Event> e = a.call->next(std::chrono::seconds(1));
    if (!e) continue;
    choices[e->choice].text += e->text;
    if (!e->end) continue;
    ++ended;
    choices[e->choice].finish_reason = e->finish_reason;
    if (!e->error.empty()) error = e->error;
  }
  const int64_t completion_tokens = a.call->completion_tokens();
  metrics_.ended(a.model, error.empty() ? Outcome::finished : Outcome::failed, a.prompt_tokens, completion_tokens);
  if (!error.empty()) throw ApiError(500, "internal_error", error);
  reply(res, 200, completion_response(a.head, choices, a.prompt_tokens, completion_tokens));
}

void Server::answer_stream(const Admitted& a, httplib::Response& res) {
  struct StreamState {
    bool opened = false, done = false;
    size_t ended = 0;
    std::string error;
  };
  auto state = std::make_shared<StreamState>();
  res.set_header("Cache-Control", "no-cache");
  res.set_chunked_content_provider(
      "text/event-stream",
      [a, state](size_t, httplib::DataSink& sink) {
        auto write = [&](const std::string& s) { return sink.write(s.data(), s.size()); };
        auto event = [&](const Json& j) { return write(sse_event(client_json(j))); };
        if (!state->opened) {
          state->opened = true;
          if (a.head.chat)
            for (size_t i = 0; i < a.n; ++i)
              if (!event(stream_chunk(a.head, i, "", "", true))) return false;
        }
        const std::optional<CompletionCall::Event> e = a.call->next(std::chrono::seconds(1));
        // An SSE comment while nothing comes: clients skip it, and a closed connection shows here.
        if (!e) return write(": waiting\n\n");
        if (!e->end) return event(stream_chunk(a.head, e->choice, e->text, ""));
        if (!e->error.empty()) state->error = e->error;
        else if (!event(stream_chunk(a.head, e->choice, e->text, e->finish_reason))) return false;
        if (++state->ended < a.n) return true;
        if (!state->error.empty() && !event(error_body(ApiError(500, "internal_error", state->error)))) return false;
        if (a.include_usage && !event(usage_chunk(a.head, a.prompt_tokens, a.call->completion_tokens()))) return false;
        if (!write(sse_event("[DONE]"))) return false;
        state->done = true;
        sink.done();
        return true;
      },
      [this, a, state](bool) {
        // Gone before the end: free the slots now rather than generating for nobody.
        if (!state->done)
          for (uint64_t t : a.tickets) engine_.cancel(t);
        const Outcome outcome = !state->done ? Outcome::cancelled
                                : state->error.empty() ? Outcome::finished
                                                       : Outcome::failed;
        metrics_.ended(a.model, outcome, a.prompt_tokens, a.call->completion_tokens());
      });
}

int Server::bind() {
  const int port = options_.port == 0 ? http_->bind_to_any_port(options_.host)
                                      : (http_->bind_to_port(options_.host, options_.port) ? options_.port : -1);
  if (port < 0) fail("cannot listen on ", options_.host, ":", options_.port, " (in use, or not an address of this machine)");
  // httplib 0.11 listens with a backlog of 5: dozens of clients connecting at once would overflow
  // it and have connections dropped. Linux lets listen() be called again to raise the backlog.
  ::listen(listen_socket_, SOMAXCONN);
  return port;
}

void Server::run() {
  // A write to a client that went away must fail (and cancel its request), not kill the process.
  std::signal(SIGPIPE, SIG_IGN);
  run_called_ = true;
  if (draining_) return;  // shut down before it started (shutdown() saw no run)
  http_->listen_after_bind();
}

void Server::shutdown() {
  draining_ = true;
  engine_.drain();
  {
    // Every sequence has ended; let their answers be written out (a client that stopped reading
    // is given up on at the write timeout, which ends its answer too).
    std::unique_lock<std::mutex> lock(answers_mutex_);
    answers_quiet_.wait_for(lock, std::chrono::seconds(60), [&] { return answers_ == 0; });
  }
  // httplib's stop() is a no-op until the listener runs: give a starting run() a moment to get there.
  for (int waited_ms = 0; run_called_ && !http_->is_running() && waited_ms < 5000; ++waited_ms)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  http_->stop();  // handlers still writing finish first: the listener joins them
}

}  // namespace s0::serve
