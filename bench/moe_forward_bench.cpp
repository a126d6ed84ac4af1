// Forward tokens/s on CPU for a small random Qwen3.5-MoE (qwen3_5_moe_text) at 512 tokens, logits
// for the last position only: 12 layers of hidden 1024, 64 experts of width 256 with top-8 routing
// and a shared expert of width 512 (0.77B parameters, about 0.25B active per token), bf16 weights
// as published checkpoints store them (the routed experts stay mapped in bf16).
//   build/bench/moe_forward_bench [tokens=512] [reps=3]
#include <cstdlib>

#include "bench/model_bench_common.h"
#include "model/arch/registry.h"
#include "model/forward.h"

using namespace s0;

int main(int argc, char** argv) {
  const int64_t T = argc > 1 ? std::atoll(argv[1]) : 512;
  const int reps = argc > 2 ? std::atoi(argv[2]) : 3;
  Qwen35Dims d;
  d.layers = 12;
  d.vocab = 32000;
  d.experts = 64;
  d.experts_per_token = 8;
  d.moe_intermediate = 256;
  d.shared_intermediate = 512;
  const auto dir = bench::random_qwen35_dir("s0-bench-qwen35-moe-small", d);
  auto t0 = std::chrono::steady_clock::now();
  const HybridModel model = load_model(dir);
  std::printf("loaded %s (%.2fB parameters) in %.1f s\n", dir.c_str(), model.parameter_count / 1e9,
              bench::seconds_since(t0));
  const double s = bench::time_forward(model, T, reps);
  std::printf("forward of %lld tokens: %.3f s = %.1f tokens/s\n", static_cast<long long>(T), s, T / s);
  std::printf("peak memory %.2f GiB\n", bench::peak_rss_gib());
  return 0;
}
