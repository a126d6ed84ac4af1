// `s0 serve`: an OpenAI-compatible HTTP server (serve/server.h) over one model and any number of
// adapters, each request in the shared continuous batch. SIGTERM or SIGINT drains: no new
// requests, the running ones finish and are written, then the process exits 0.
#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <cstdio>
#include <iostream>
#include <thread>

#include "cli/command.h"
#include "cli/device_option.h"
#include "cli/model_folder.h"
#include "cli/validators.h"
#include "core/error.h"
#include "serve/server.h"

namespace s0::cli {
namespace {

Runner setup(CLI::App& app) {
  struct Options {
    std::string model, name, device = "cpu", dtype;
    std::vector<std::string> adapters;
    serve::ServerOptions server;
  };
  auto o = std::make_shared<Options>();
  add_model_option(app, o->model, "Hugging Face model folder (config.json, model.safetensors, tokenizer.json)")
      ->required();
  app.add_option("--served-model-name", o->name,
                 "the name requests give in `model` for the base model (default: the model folder's name)");
  app.add_option("--adapter", o->adapters, "NAME=DIR: serve the S0 adapter in DIR as model NAME (repeatable)");
  app.add_option("--device", o->device, "cpu (GPU serving is not built yet)")->capture_default_str();
  add_dtype_option(app, o->dtype);
  app.add_option("--host", o->server.host, "address to listen on")->capture_default_str();
  app.add_option("--port", o->server.port, "port to listen on; 0 picks a free one")
      ->check(between(0, 65535))
      ->capture_default_str();
  app.add_option("--max-batch", o->server.scheduler.max_batch, "sequences decoded together")
      ->check(between(1, 4096))
      ->capture_default_str();
  app.add_option("--max-queue", o->server.max_queue, "sequences waiting for a slot before requests get 429")
      ->check(between(0, 1 << 20))
      ->capture_default_str();
  app.add_option("--api-key", o->server.api_key, "require Authorization: Bearer KEY on /v1/ routes");
  return [o] {
    if (o->device != "cpu")
      fail("--device ", o->device, ": GPU serving is not built yet (the GPU decode path is a separate piece of work); "
           "use --device cpu");
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

    ModelSession session(o->model, matrix_dtype(o->dtype));
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
              << o->server.base_name << ", " << adapters.size() << " adapters)" << std::endl;
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
