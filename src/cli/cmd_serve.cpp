// `s0 serve`: an OpenAI-compatible HTTP server (serve/server.h) over one model and any number of
// adapters, each request in the shared continuous batch. SIGTERM or SIGINT drains: no new
// requests, the running ones finish and are written, then the process exits 0.
#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <cstdio>
#include <iostream>
#include <optional>
#include <thread>

#include "cli/command.h"
#include "cli/device_option.h"
#include "cli/generation_flags.h"
#include "cli/model_folder.h"
#include "cli/validators.h"
#include "core/error.h"
#include "generate/generation_batch.h"
#include "serve/server.h"

namespace s0::cli {
namespace {

// The context a served sequence is budgeted for when --max-batch is not given: a request's length
// is not known until it comes, and most prompts with their answers fit 4,096 tokens. On a GPU the
// default batch is then what half the free memory holds at that length (generate/generation_batch.h):
// for Qwen3.5-4B's shape about 590 MB a sequence: 118 on an H200 (measured), about 63 on an 80 GB H100.
constexpr int64_t kServedContextBudget = 4096;

Runner setup(CLI::App& app) {
  struct Options {
    std::string model, name, device, dtype;
    std::vector<std::string> adapters;
    std::optional<int64_t> max_batch;
    bool eager = false;
    serve::ServerOptions server;
  };
  auto o = std::make_shared<Options>();
  add_model_option(app, o->model, "Hugging Face model folder (config.json, model.safetensors, tokenizer.json)")
      ->required();
  app.add_option("--served-model-name", o->name,
                 "the name requests give in `model` for the base model (default: the model folder's name)");
  app.add_option("--adapter", o->adapters, "NAME=DIR: serve the S0 adapter in DIR as model NAME (repeatable)");
  add_device_option(app, o->device, "the model runs and tokens are picked");
  add_dtype_option(app, o->dtype);
  app.add_option("--host", o->server.host, "address to listen on")->capture_default_str();
  app.add_option("--port", o->server.port, "port to listen on; 0 picks a free one")
      ->check(between(0, 65535))
      ->capture_default_str();
  app.add_option("--max-batch", o->max_batch,
                 "sequences decoded together (default: 16 on the CPU; on a GPU as many sequences of 4,096 tokens as "
                 "half its free memory holds, at most 256)")
      ->check(between(1, 4096));
  app.add_option("--max-queue", o->server.max_queue, "sequences waiting for a slot before requests get 429")
      ->check(between(0, 1 << 20))
      ->capture_default_str();
  app.add_option("--api-key", o->server.api_key, "require Authorization: Bearer KEY on /v1/ routes");
  add_eager_flag(app, o->eager);
  add_cache_dtype_options(app, o->server.scheduler.cache_dtypes);
  return [o] {
    std::vector<std::pair<std::string, std::string>> adapters;
    for (const std::string& a : o->adapters) {
      const size_t eq = a.find('=');
      if (eq == std::string::npos || eq == 0 || eq + 1 == a.size())
        fail("--adapter ", a, ": expected NAME=DIR");
      adapters.emplace_back(a.substr(0, eq), a.substr(eq + 1));
    }
    o->server.base_name = o->name.empty() ? std::filesystem::path(o->model).filename().string() : o->name;
    // Every thread started from here on inherits the blocked signals, so only the watcher takes them.
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

    ModelSession session(o->model, activated_device(o->device), matrix_dtype(o->dtype));
    const CacheDtypes& dtypes = o->server.scheduler.cache_dtypes;
    o->server.scheduler.max_batch =
        o->max_batch ? *o->max_batch : default_generation_batch(session.model(), kServedContextBudget, dtypes);
    o->server.scheduler.cuda_graphs = !o->eager;
    serve::Server server(session, o->server);
    for (const auto& [name, dir] : adapters) server.adapters().load(name, dir);
    const int port = server.bind();
    std::atomic<bool> stopping{false};
    std::thread watcher([&] {
      int sig = 0;
      sigwait(&stop_signals, &sig);
      if (stopping.exchange(true)) return;
      std::fprintf(stderr, "s0 serve: signal %d, draining running requests\n", sig);
      server.shutdown();
    });
    std::cout << "s0 serve: listening on http://" << o->server.host << ":" << port << " (model "
              << o->server.base_name << ", " << adapters.size() << " adapters, up to " << o->server.scheduler.max_batch
              << " sequences at once)" << std::endl;
    server.run();
    if (!stopping.exchange(true)) pthread_kill(watcher.native_handle(), SIGTERM);  // wakes the watcher
    watcher.join();
    std::fprintf(stderr, "s0 serve: stopped\n");
    return 0;
  };
}

S0_COMMAND("serve", "serve a model and its adapters over an OpenAI-compatible HTTP API", setup);

}  // namespace
}  // namespace s0::cli
