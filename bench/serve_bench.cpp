// Load generator against `s0 serve`: starts the server on a random checkpoint of Qwen3.5-0.8B's
// shape (the CPU's benchmark) or Qwen3.5-4B's (`--shape 4b`, the GPU's), the model benchmarks'
// ones with a byte-level tokenizer beside them, and 8 random adapters, on the CPU or a GPU
// (`--device cuda`, passed to `s0 serve`), then measures over HTTP, streaming every answer (one
// server-sent event per generated token):
//   - batch-1 decode tokens/s (one client; from its first token to its last), next to the
//     bandwidth floor of a decode step (bench/decode_floor.h; on a GPU the H100's and the H200's,
//     with the card's name as nvidia-smi gives it),
//   - at C concurrent requests, without adapters and with 8 different ones (request i uses
//     adapter i % 8): aggregate tokens/s (all tokens over the wall time from the first request
//     sent to the last answer done) and p50/p99 time to first token.
// Bounded: every request has a fixed prompt and max_tokens; every wait has a timeout.
//
//   build-cpu/bench/serve_bench [--device cpu|cuda[:N]] [--shape 0.8b|4b] [--concurrency 64]
//                               [--prompt-tokens 16] [--max-tokens 16] [--batch1-tokens 32]
//                               [--threads N] [--s0 PATH] [--model DIR] [--eager 1]
// --model is the folder the server's checkpoint links, tokenizer and adapters are written to
// (default: s0-bench-serve-SHAPE in the temp folder). `--eager 1` starts the server with --eager
// (no CUDA graphs of the decode step's recurrent blocks).
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
#include <memory>
#include <filesystem>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "bench/decode_floor.h"
#include "bench/model_bench_common.h"
#include "io/adapter_file.h"
#include "io/json.h"
#include "model/model_on_device.h"
#include "tokenizer/byte_tokenizer.h"

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

struct Flags {
  int concurrency = 64, prompt_tokens = 16, max_tokens = 16, batch1_tokens = 32, threads = 0;
  std::string s0, model, device = "cpu", shape = "0.8b";
  bool eager = false;
};

struct Prepared {
  fs::path dir;
  int64_t vocab = 0;
  double weight_bytes = 0;  // read by one decode step, the matrices as the server holds them
};

// The benchmark checkpoint's folder with a tokenizer (links to the shared weights) and 8 adapters
// of small random states; written once.
Prepared prepare(const Flags& fl) {
  const fs::path dir =
      fl.model.empty() ? fs::temp_directory_path() / ("s0-bench-serve-" + fl.shape) : fs::path(fl.model);
  if (!fs::exists(dir / "tokenizer.json")) {
    const fs::path weights = fl.shape == "4b" ? s0::bench::qwen35_4b_dir() : s0::bench::qwen35_08b_dir();
    fs::create_directories(dir);
    for (const char* f : {"config.json", "model.safetensors"})
      if (!fs::exists(dir / f)) fs::create_symlink(weights / f, dir / f);
    s0::write_byte_tokenizer(dir);
  }
  // As stored (bf16), which is how `s0 serve` holds the matrices on either device without --dtype.
  const s0::HybridModel model = s0::load_model_on(dir, s0::Device::cpu(), std::nullopt);
  const Prepared prepared{dir, model.vocab, s0::bench::weight_bytes_per_step(model)};
  if (fs::exists(dir / "adapters" / "a7" / "states.safetensors")) return prepared;
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
  return prepared;
}

// The GPU's name as the driver reports it (nvidia-smi; the CUDA index is taken as nvidia-smi's,
// which holds on a one-GPU machine), or a line saying it could not be asked.
std::string gpu_name(const s0::Device& device) {
  const std::string command =
      "nvidia-smi --query-gpu=name,memory.total --format=csv,noheader -i " + std::to_string(device.index) + " 2>&1";
  const std::unique_ptr<FILE, int (*)(FILE*)> pipe(::popen(command.c_str(), "r"), ::pclose);
  std::string out;
  char buf[256];
  while (pipe && std::fgets(buf, sizeof buf, pipe.get())) out += buf;
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out.empty() ? "unknown (nvidia-smi gave nothing)" : out;
}

// `s0 serve` as a child process; SIGTERM (drain) and reaped at the end.
struct ServerProcess {
  pid_t pid = -1;
  int port = 0;
  ServerProcess(const Flags& fl, const fs::path& dir) {
    std::vector<std::string> args = {fl.s0, "serve", "--model", dir.string(), "--device", fl.device, "--port", "0",
                                     "--max-batch", std::to_string(fl.concurrency), "--max-queue",
                                     std::to_string(fl.concurrency)};
    if (fl.threads > 0) args.insert(args.end(), {"--threads", std::to_string(fl.threads)});
    if (fl.eager) args.push_back("--eager");
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
    // Loading the 4B checkpoint (8.4 GB) may take minutes from a cold disk.
    while (line.find('\n') == std::string::npos && ::poll(&p, 1, 300000) > 0 && ::read(out[0], &c, 1) == 1) line += c;
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

// C streamed requests at once, request i on adapter i % 8 or all on the base model; each with
// `max_tokens` new tokens.
std::vector<Timing> run_concurrent(const Flags& fl, int port, int64_t vocab, const std::string& base, bool adapters,
                                   int max_tokens) {
  std::vector<Timing> t(static_cast<size_t>(fl.concurrency));
  std::vector<std::thread> clients;
  for (int i = 0; i < fl.concurrency; ++i)
    clients.emplace_back([&, i] {
      const std::string model = adapters ? "a" + std::to_string(i % 8) : base;
      t[static_cast<size_t>(i)] = stream_one(port, model, prompt_of(i, fl.prompt_tokens, vocab), max_tokens);
    });
  for (std::thread& c : clients) c.join();
  return t;
}

void report_concurrent(const Flags& fl, const std::vector<Timing>& t, bool adapters) {
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
  std::printf("%-24s %4d %8ld %12.2f %12.3f %12.3f %6d\n", adapters ? "8 different adapters" : "no adapter",
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
    else if (k == "--device") fl.device = v;
    else if (k == "--shape") fl.shape = v;
    else if (k == "--eager") fl.eager = v == "1";
    else {
      std::fprintf(stderr, "serve_bench: unknown flag %s\n", k.c_str());
      return 1;
    }
  }
  if (argc % 2 == 0 || (fl.shape != "0.8b" && fl.shape != "4b")) {
    std::fprintf(stderr, "usage: serve_bench [--device cpu|cuda[:N]] [--shape 0.8b|4b] [--concurrency 64] "
                         "[--prompt-tokens 16] [--max-tokens 16] [--batch1-tokens 32] [--threads N] [--s0 PATH] "
                         "[--model DIR] [--eager 1]\n");
    return 1;
  }
  try {
    const s0::Device device = s0::parse_device(fl.device, "--device");
    const Prepared prepared = prepare(fl);
    const fs::path& dir = prepared.dir;
    std::printf("s0 serve --device %s on %s (vocab %lld); prompts of %d tokens, greedy, streamed\n", fl.device.c_str(),
                dir.c_str(), static_cast<long long>(prepared.vocab), fl.prompt_tokens);
    if (!device.is_cpu()) std::printf("GPU: %s\n", gpu_name(device).c_str());
    std::printf("%.2f GB of weights read per decode step\n", prepared.weight_bytes / 1e9);
    const auto floors = s0::bench::decode_floors(device, prepared.weight_bytes);
    s0::bench::print_floors(floors);
    std::fflush(stdout);
    const ServerProcess server(fl, dir);
    const int64_t vocab = prepared.vocab;
    const std::string base = dir.filename().string();

    stream_one(server.port, "a0", prompt_of(0, fl.prompt_tokens, vocab), 2);  // warm-up
    const Timing one = stream_one(server.port, base, prompt_of(0, fl.prompt_tokens, vocab), fl.batch1_tokens);
    if (one.ok && one.tokens > 1) {
      const double step = seconds(one.last - one.first) / (one.tokens - 1);
      std::printf("batch 1: %d tokens, decode %.2f tokens/s (%.2f ms per token), time to first token %.3f s\n",
                  one.tokens, 1.0 / step, step * 1e3, seconds(one.first - one.sent));
      for (const auto& [name, f] : floors)
        std::printf("  against the floor (%s): %.1f tokens/s at most, decode at %.2f x the floor's time\n",
                    name.c_str(), 1.0 / f, step / f);
    } else {
      std::printf("batch 1: the request failed or gave fewer than 2 tokens\n");
    }
    // A short round at full concurrency first, so that whatever the server sets up per batch size
    // on first use (a GPU's decode graphs, say) is not charged to the first row below.
    run_concurrent(fl, server.port, vocab, base, false, 4);
    std::printf("\n%-24s %4s %8s %12s %12s %12s %6s\n", "requests", "C", "tokens", "tokens/s", "TTFT p50 s",
                "TTFT p99 s", "failed");
    for (const bool adapters : {false, true})
      report_concurrent(fl, run_concurrent(fl, server.port, vocab, base, adapters, fl.max_tokens), adapters);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "serve_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
