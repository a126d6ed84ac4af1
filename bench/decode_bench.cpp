// Decode speed with and without an S0 adapter on one batch, at batch 1 and 16, on a random model
// of Qwen3.5-0.8B's shape, next to the memory-bandwidth floor of a decode step (the bytes of
// weights a step reads divided by the machine's measured streaming-read bandwidth). An adapter
// only changes the state the recurrent layers start from at prefill, so the two columns should
// agree within noise.
//
//   build/bench/decode_bench [steps=8] [model_dir]
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

// Bytes of weight matrices one decode step reads: every Linear once (float32; precise layers read
// the float32 copy too), the LM head included; the embedding is a row lookup.
double weight_bytes_per_step(const s0::HybridModel& m) {
  double floats = static_cast<double>(m.lm_head.w.numel());
  auto linear = [&](const s0::Linear& l) { floats += static_cast<double>(l.w.numel()); };
  for (const s0::Block& b : m.blocks) {
    linear(b.gate_up);
    linear(b.down);
    for (const s0::Mixer& mx : b.mixers)
      std::visit([&](const auto& mixer) {
        linear(mixer.in_proj);
        linear(mixer.out_proj);
      }, mx);
  }
  return floats * sizeof(float);
}

}  // namespace

int main(int argc, char** argv) {
  const int steps = argc > 1 ? std::atoi(argv[1]) : 8;
  const std::filesystem::path dir = argc > 2 ? std::filesystem::path(argv[2]) : s0::bench::qwen35_08b_dir();
  const s0::HybridModel model = s0::load_model(dir);

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
  std::printf("model: %zu blocks, hidden %lld, vocab %lld; %.2f GB of float32 weights read per decode step\n",
              model.blocks.size(), static_cast<long long>(model.hidden), static_cast<long long>(model.vocab),
              bytes / 1e9);
  std::printf("streaming read bandwidth %.1f GB/s -> floor %.1f ms per step (%.2f steps/s)\n", bw, floor_s * 1e3,
              1.0 / floor_s);
  std::printf("%-6s %-16s %12s %12s %14s\n", "batch", "initial state", "ms/step", "tokens/s", "x floor (time)");
  for (int batch : {1, 16})
    for (const s0::StateSet* init : {static_cast<const s0::StateSet*>(nullptr), static_cast<const s0::StateSet*>(&adapter)}) {
      const double s = s0::bench::decode_step_seconds(model, batch, steps, init);
      std::printf("%-6d %-16s %12.1f %12.2f %14.2f\n", batch, init ? "adapter" : "zero (none)", s * 1e3, batch / s,
                  s / floor_s);
      std::fflush(stdout);
    }
  return 0;
}
