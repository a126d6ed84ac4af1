// Load generator against `s0 serve`: starts the server on a random Qwen3.5-0.8B-shaped checkpoint
// (the model benchmarks' one, with a byte-level tokenizer beside it) and 8 random adapters, then
// measures over HTTP, streaming every answer (one server-sent event per generated token):
//   - batch-1 decode tokens/s (one client; from its first token to its last),
//   - at C concurrent requests, without adapters and with 8 different ones (request i uses
//     adapter i % 8): aggregate tokens/s (all tokens over the wall time from the first request
//     sent to the last answer done) and p50/p99 time to first token.
// Bounded: every request has a fixed prompt and max_tokens; every wait has a timeout.
//
//   build-cpu/bench/serve_bench [--concurrency 64] [--prompt-tokens 16] [--max-tokens 16]
//                               [--batch1-tokens 32] [--threads N] [--s0 PATH] [--model DIR]
// Prompts are token ids (the byte tokenizer cannot spell the model's vocabulary); greedy decoding.
#include <httplib.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "bench/model_bench_common.h"
#include "io/adapter_file.h"
#include "io/json.h"
#include "model/arch/registry.h"
#include "tokenizer/byte_tokenizer.h"

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

struct Flags {
  int concurrency = 64, prompt_tokens = 16, max_tokens = 16, batch1_tokens = 32, threads = 0;
  std::string s0, model;
};

// The benchmark checkpoint's folder with a tokenizer (links to the shared weights) and 8 adapters
// of small random states; written once.
fs::path prepare(const std::string& model_arg) {
  const fs::path dir = model_arg.empty() ? fs::temp_directory_path() / "s0-bench-serve-0.8b" : fs::path(model_arg);
  if (!fs::exists(dir / "tokenizer.json")) {
    const fs::path weights = s0::bench::qwen35_08b_dir();
    fs::create_directories(dir);
    for (const char* f : {"config.json", "model.safetensors"})
      if (!fs::exists(dir / f)) fs::create_symlink(weights / f, dir / f);
    s0::write_byte_tokenizer(dir);
  }
  if (fs::exists(dir / "adapters" / "a7" / "states.safetensors")) return dir;
  const s0::HybridModel model = s0::load_model(dir);
  for (int a = 0; a < 8; ++a) {
    const fs::path out = dir / "adapters" / ("a" + std::to_string(a));
    s0::AdapterFile f;
    f.arch = model.recurrent.at(0).arch;
    f.state_shape = model.recurrent.at(0).state_shape;
    f.config.alpha = 1.0;
    std::mt19937 rng(static_cast<unsigned>(a + 1));
    std::normal_distribution<float> noise(0.0f, 0.05f);
    for (const s0::RecurrentLayer& r : model.recurrent) {
      f.layers.push_back(r.layer);
      s0::Tensor t = s0::Tensor::zeros(r.state_shape);
      for (int64_t i = 0; i < t.numel(); ++i) t.f32_mut()[i] = noise(rng);
      f.states[r.layer] = t;
    }
    s0::write_adapter(out, f, true);
  }
  return dir;
}

// `s0 serve` as a child process; SIGTERM (drain) and reaped at the end.
struct ServerProcess {
  pid_t pid = -1;
  int port = 0;
  ServerProcess(const Flags& fl, const fs::path& dir) {
    std::vector<std::string> args = {fl.s0, "serve", "--model", dir.string(), "--port", "0", "--max-batch",
                                     std::to_string(fl.concurrency), "--max-queue", std::to_string(fl.concurrency)};
    if (fl.threads > 0) args.insert(args.end(), {"--threads", std::to_string(fl.threads)});
    for (int a = 0; a < 8; ++a)
      args.push_back("--adapter=a" + std::to_string(a) + "=" + (dir / "adapters" / ("a" + std::to_string(a))).string());
    int out[2];
    if (::pipe(out) != 0) std::exit(1);
    pid = ::fork();
    if (pid == 0) {
      ::dup2(out[1], 1);
      std::vector<char*> argv;
      for (std::string& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execv(argv[0], argv.data());
      _exit(127);
    }
    ::close(out[1]);
    std::string line;
    char c;
    pollfd p{out[0], POLLIN, 0};
    while (line.find('\n') == std::string::npos && ::poll(&p, 1, 120000) > 0 && ::read(out[0], &c, 1) == 1) line += c;
    ::close(out[0]);
    const size_t at = line.find("127.0.0.1:");
    if (at == std::string::npos) {
      std::fprintf(stderr, "serve_bench: s0 serve did not start (%s)\n", line.c_str());
      std::exit(1);
    }
    port = std::atoi(line.c_str() + at + 10);
  }
  ~ServerProcess() {
    ::kill(pid, SIGTERM);
    ::waitpid(pid, nullptr, 0);
  }
};

struct Timing {
  Clock::time_point sent, first, last;
  int tokens = 0;
  bool ok = false;
};

// One streamed completion; the time of every token event.
Timing stream_one(int port, const std::string& model, const std::vector<int64_t>& prompt, int max_tokens) {
  httplib::Client client("127.0.0.1", port);
  client.set_read_timeout(600);
  httplib::Request req;
  req.method = "POST";
  req.path = "/v1/completions";
  req.set_header("Content-Type", "application/json");
  req.body = s0::Json{{"model", model}, {"prompt", prompt}, {"max_tokens", max_tokens}, {"temperature", 0},
                      {"stream", true}}.dump();
  Timing t;
  std::string pending;
  req.content_receiver = [&](const char* data, size_t n, uint64_t, uint64_t) {
    pending.append(data, n);
    for (size_t end; (end = pending.find("\n\n")) != std::string::npos; pending.erase(0, end + 2)) {
      const std::string event = pending.substr(0, end);
      if (event.rfind("data: {", 0) != 0) continue;
      const s0::Json j = s0::parse_json(event.substr(6), "event");
      if (j["choices"].empty() || !j["choices"][0]["finish_reason"].is_null()) continue;
      const Clock::time_point now = Clock::now();
      if (t.tokens++ == 0) t.first = now;
      t.last = now;
    }
    return true;
  };
  httplib::Response res;
  httplib::Error error;
  t.sent = Clock::now();
  t.ok = client.send(req, res, error) && res.status == 200 && t.tokens > 0;
  return t;
}

std::vector<int64_t> prompt_of(int i, int len, int64_t vocab) {
  std::vector<int64_t> p;
  for (int t = 0; t < len; ++t) p.push_back(1 + (i * 7919 + t * 104729) % (vocab - 1));
  return p;
}

double seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

double percentile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  return v[static_cast<size_t>(q * static_cast<double>(v.size() - 1) + 0.5)];
}

void concurrent(const Flags& fl, int port, int64_t vocab, const std::string& base, bool adapters) {
  std::vector<Timing> t(static_cast<size_t>(fl.concurrency));
  std::vector<std::thread> clients;
  for (int i = 0; i < fl.concurrency; ++i)
    clients.emplace_back([&, i] {
      const std::string model = adapters ? "a" + std::to_string(i % 8) : base;
      t[static_cast<size_t>(i)] = stream_one(port, model, prompt_of(i, fl.prompt_tokens, vocab), fl.max_tokens);
    });
  for (std::thread& c : clients) c.join();
  Clock::time_point begin = t[0].sent, end = t[0].last;
  std::vector<double> ttft;
  long tokens = 0;
  int failed = 0;
  for (const Timing& x : t) {
    if (!x.ok) {
      ++failed;
      continue;
    }
    begin = std::min(begin, x.sent);
    end = std::max(end, x.last);
    tokens += x.tokens;
    ttft.push_back(seconds(x.first - x.sent));
  }
  if (ttft.empty()) {
    std::printf("%-24s all %d requests failed\n", adapters ? "8 adapters" : "no adapter", failed);
    return;
  }
  std::printf("%-24s %4d %8ld %12.2f %12.2f %12.2f %6d\n", adapters ? "8 different adapters" : "no adapter",
              fl.concurrency, tokens, tokens / seconds(end - begin), percentile(ttft, 0.5), percentile(ttft, 0.99),
              failed);
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  Flags fl;
  fl.s0 = (fs::path(argv[0]).parent_path().parent_path() / "s0").string();
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--concurrency") fl.concurrency = std::stoi(v);
    else if (k == "--prompt-tokens") fl.prompt_tokens = std::stoi(v);
    else if (k == "--max-tokens") fl.max_tokens = std::stoi(v);
    else if (k == "--batch1-tokens") fl.batch1_tokens = std::stoi(v);
    else if (k == "--threads") fl.threads = std::stoi(v);
    else if (k == "--s0") fl.s0 = v;
    else if (k == "--model") fl.model = v;
    else {
      std::fprintf(stderr, "serve_bench: unknown flag %s\n", k.c_str());
      return 1;
    }
  }
  const fs::path dir = prepare(fl.model);
  const int64_t vocab = s0::json_int(s0::load_json_file(dir / "config.json"), "vocab_size", "config.json");
  std::printf("s0 serve on %s (vocab %lld); prompts of %d tokens, greedy, streamed\n", dir.c_str(),
              static_cast<long long>(vocab), fl.prompt_tokens);
  const ServerProcess server(fl, dir);

  stream_one(server.port, "a0", prompt_of(0, fl.prompt_tokens, vocab), 2);  // warm-up
  const Timing one = stream_one(server.port, dir.filename().string(), prompt_of(0, fl.prompt_tokens, vocab), fl.batch1_tokens);
  if (one.ok && one.tokens > 1)
    std::printf("batch 1: %d tokens, decode %.2f tokens/s, time to first token %.2f s\n", one.tokens,
                (one.tokens - 1) / seconds(one.last - one.first), seconds(one.first - one.sent));
  std::printf("\n%-24s %4s %8s %12s %12s %12s %6s\n", "requests", "C", "tokens", "tokens/s", "TTFT p50 s",
              "TTFT p99 s", "failed");
  concurrent(fl, server.port, vocab, dir.filename().string(), false);
  concurrent(fl, server.port, vocab, dir.filename().string(), true);
  return 0;
}
