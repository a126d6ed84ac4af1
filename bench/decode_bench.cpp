// Decode speed with and without an S0 adapter on one batch, at batch 1 and 16, on a random model
// of Qwen3.5-0.8B's shape, next to the memory-bandwidth floor of a decode step (the bytes of
// weights a step reads divided by the machine's measured streaming-read bandwidth). An adapter
// only changes the state the recurrent layers start from at prefill, so the two columns should
// agree within noise.
//
//   build/bench/decode_bench [steps=8] [model_dir] [--dtype f32|bf16]
// Without model_dir the random checkpoint shared by the model benchmarks is used (written once).
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <unistd.h>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "generate/generator.h"
#include "bench/model_bench_common.h"
#include "model/arch/registry.h"

namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// GB/s of a parallel streaming sum over a buffer far larger than the caches (best of 5). Sixteen
// independent partial sums per thread keep the loop vectorised, so memory, not the adder, limits it.
double read_bandwidth() {
  const size_t n = size_t{1} << 28;  // 1 GiB of floats
  std::vector<float> buf(n, 1.0f);
  double best = 0;
  for (int rep = 0; rep < 5; ++rep) {
    const auto t = Clock::now();
    double sum = 0;
#pragma omp parallel reduction(+ : sum)
    {
      float lane[16] = {};
#pragma omp for schedule(static)
      for (size_t b = 0; b < n / 16; ++b)
        for (int l = 0; l < 16; ++l) lane[l] += buf[b * 16 + l];
      for (float v : lane) sum += v;
    }
    const double s = seconds_since(t);
    if (sum != static_cast<double>(n)) std::printf("(bandwidth check sum %.0f)\n", sum);
    best = std::max(best, n * sizeof(float) / s / 1e9);
  }
  return best;
}

// Bytes of weight matrices one decode step reads: every Linear once, in its dtype, the LM head
// included; the embedding is a row lookup.
double weight_bytes_per_step(const s0::HybridModel& m) {
  double bytes = 0;
  auto linear = [&](const s0::Linear& l) { bytes += static_cast<double>(l.w.nbytes()); };
  linear(m.lm_head);
  for (const s0::Block& b : m.blocks) {
    linear(b.gate_up);
    linear(b.down);
    for (const s0::Mixer& mx : b.mixers)
      std::visit([&](const auto& mixer) {
        linear(mixer.in_proj);
        linear(mixer.out_proj);
      }, mx);
  }
  return bytes;
}

// Seconds per decode step of `batch` sequences: the time from the first token of sequence 0 (the
// end of the prefill) to its last, over `steps` steps, after a warm-up run.
double decode_step_seconds(const s0::HybridModel& model, int batch, int steps, const s0::StateSet* adapter) {
  std::vector<s0::GenerationRequest> reqs;
  for (int i = 0; i < batch; ++i) {
    std::vector<int64_t> prompt;
    for (int t = 0; t < 16; ++t) prompt.push_back((i * 131 + t * 17) % model.vocab);
    reqs.push_back({prompt, adapter, static_cast<uint64_t>(i)});
  }
  s0::GenerationOptions o;
  o.batch = batch;
  o.max_new_tokens = 2;
  s0::generate(model, reqs, o);
  o.max_new_tokens = steps + 1;
  std::vector<Clock::time_point> seen;
  s0::generate(model, reqs, o, [&](size_t index, int64_t) {
    if (index == 0) seen.push_back(Clock::now());
    return false;
  });
  return std::chrono::duration<double>(seen.back() - seen.front()).count() / steps;
}

}  // namespace

int main(int argc, char** argv) {
  const std::optional<s0::DType> dtype = s0::bench::take_dtype_flag(argc, argv);
  const int steps = argc > 1 ? std::atoi(argv[1]) : 8;
  const std::filesystem::path dir = argc > 2 ? std::filesystem::path(argv[2]) : s0::bench::qwen35_08b_dir();
  const s0::HybridModel model = s0::bench::load_bench_model(dir, dtype);

  s0::StateSet adapter;
  std::mt19937 rng(1);
  std::normal_distribution<float> noise(0.0f, 0.05f);
  for (const s0::RecurrentLayer& r : model.recurrent) {
    s0::Tensor t = s0::Tensor::zeros(r.state_shape);
    for (int64_t i = 0; i < t.numel(); ++i) t.f32_mut()[i] = noise(rng);
    adapter.states.push_back(t);
  }

  const double bytes = weight_bytes_per_step(model), bw = read_bandwidth();
  const double floor_s = bytes / (bw * 1e9);
  std::printf("model: %zu blocks, hidden %lld, vocab %lld; %.2f GB of weights read per decode step\n",
              model.blocks.size(), static_cast<long long>(model.hidden), static_cast<long long>(model.vocab),
              bytes / 1e9);
  std::printf("streaming read bandwidth %.1f GB/s -> floor %.1f ms per step (%.2f steps/s)\n", bw, floor_s * 1e3,
              1.0 / floor_s);
  std::printf("%-6s %-16s %12s %12s %14s\n", "batch", "initial state", "ms/step", "tokens/s", "x floor (time)");
  for (int batch : {1, 16})
    for (const s0::StateSet* init : {static_cast<const s0::StateSet*>(nullptr), static_cast<const s0::StateSet*>(&adapter)}) {
      const double s = decode_step_seconds(model, batch, steps, init);
      std::printf("%-6d %-16s %12.1f %12.2f %14.2f\n", batch, init ? "adapter" : "zero (none)", s * 1e3, batch / s,
                  s / floor_s);
      std::fflush(stdout);
    }
  return 0;
}
