// Forward tokens/s on CPU for a small random MoE at 512 tokens, logits for the last position only,
// bf16 weights as published checkpoints store them (the routed experts stay mapped in bf16):
//   qwen35 (default): a Qwen3.5-MoE (qwen3_5_moe_text), 12 layers of hidden 1024, 64 experts of
//     width 256 with top-8 softmax routing and a gated shared expert of width 512 (0.77B
//     parameters, about 0.25B active per token);
//   nemotron_h: a Nemotron-H of hidden 1024 and pattern MEMEM*EMEMEM (6 Mamba-2 layers of 16 heads
//     of dim 128, d_state 64, 8 groups; 5 MoE layers of 64 squared-ReLU experts of width 256, top 6
//     by the sigmoid router with score correction, shared expert of width 1024; 1 attention layer;
//     0.29B parameters).
//   build/bench/moe_forward_bench [tokens=512] [reps=3] [qwen35|nemotron_h]
#include <cstdlib>
#include <string>

#include "bench/model_bench_common.h"
#include "model/arch/random_mamba2_hybrid.h"
#include "model/arch/registry.h"
#include "model/forward.h"

using namespace s0;

namespace {

std::filesystem::path qwen35_moe_dir() {
  Qwen35Dims d;
  d.layers = 12;
  d.vocab = 32000;
  d.experts = 64;
  d.experts_per_token = 8;
  d.moe_intermediate = 256;
  d.shared_intermediate = 512;
  return bench::random_qwen35_dir("s0-bench-qwen35-moe-small", d);
}

std::filesystem::path nemotron_h_moe_dir() {
  Mamba2HybridDims d;
  d.family = Mamba2Hybrid::NemotronH;
  d.pattern = "MEMEM*EMEMEM";
  d.hidden = 1024;
  d.vocab = 32000;
  d.heads = 8;
  d.kv_heads = 2;
  d.head_dim = 128;
  d.mamba_heads = 16;
  d.mamba_head_dim = 128;
  d.d_state = 64;
  d.groups = 8;
  d.experts = 64;
  d.experts_per_token = 6;
  d.moe_intermediate = 256;
  d.shared_intermediate = 1024;
  d.routed_scaling = 2.5;
  return bench::cached_random_checkpoint("s0-bench-nemotron-h-moe-small", [&](const std::filesystem::path& dir) {
    write_random_mamba2_hybrid(dir, d);
  });
}

}  // namespace

int main(int argc, char** argv) {
  const int64_t T = argc > 1 ? std::atoll(argv[1]) : 512;
  const int reps = argc > 2 ? std::atoi(argv[2]) : 3;
  const std::string family = argc > 3 ? argv[3] : "qwen35";
  if (family != "qwen35" && family != "nemotron_h") {
    std::fprintf(stderr, "moe_forward_bench: unknown family %s (qwen35 or nemotron_h)\n", family.c_str());
    return 1;
  }
  const auto dir = family == "qwen35" ? qwen35_moe_dir() : nemotron_h_moe_dir();
  auto t0 = std::chrono::steady_clock::now();
  const HybridModel model = load_model(dir);
  std::printf("loaded %s (%.2fB parameters) in %.1f s\n", dir.c_str(), model.parameter_count / 1e9,
              bench::seconds_since(t0));
  const double s = bench::time_forward(model, T, reps);
  std::printf("forward of %lld tokens: %.3f s = %.1f tokens/s\n", static_cast<long long>(T), s, T / s);
  std::printf("peak memory %.2f GiB\n", bench::peak_rss_gib());
  return 0;
}
