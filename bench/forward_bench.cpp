// Forward tokens/s on CPU for a random model with Qwen3.5-0.8B's shape at 512 tokens (logits for
// the last position only), next to the FLOP count and this machine's measured OpenBLAS GEMM rate.
//   build/bench/forward_bench [tokens=512] [reps=3] [--dtype f32|bf16]
#include <cstdlib>

#include "bench/model_bench_common.h"
#include "model/arch/registry.h"
#include "model/forward.h"

using namespace s0;

int main(int argc, char** argv) {
  const std::optional<DType> dtype = bench::take_dtype_flag(argc, argv);
  const int64_t T = argc > 1 ? std::atoll(argv[1]) : 512;
  const int reps = argc > 2 ? std::atoi(argv[2]) : 3;
  const auto dir = bench::qwen35_08b_dir();
  auto t0 = std::chrono::steady_clock::now();
  const HybridModel model = bench::load_bench_model(dir, dtype);
  std::printf("loaded %s (%.2fB parameters) in %.1f s\n", dir.c_str(), model.parameter_count / 1e9,
              bench::seconds_since(t0));
  const double s = bench::time_forward(model, T, reps);
  const double flops = bench::forward_flops(model, T, 1);
  const double gemm = bench::measured_gemm_gflops(T, 3584, 1024);
  std::printf("forward of %lld tokens: %.3f s = %.1f tokens/s; %.1f GFLOP -> %.1f GFLOP/s\n",
              static_cast<long long>(T), s, T / s, flops / 1e9, flops / s / 1e9);
  std::printf("OpenBLAS sgemm [%lld x 1024] x [1024 x 3584]: %.1f GFLOP/s; forward at %.0f%% of it\n",
              static_cast<long long>(T), gemm, 100.0 * flops / s / 1e9 / gemm);
  std::printf("peak memory %.2f GiB\n", bench::peak_rss_gib());
  return 0;
}
