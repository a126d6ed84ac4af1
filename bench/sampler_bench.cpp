// The host's sampler (TokenSampler::next) on one row of Qwen3.5's vocabulary (248320 tokens): a
// flat row, whose top-p nucleus is most of the vocabulary (random-weight models give such rows; a
// GPU hands rows like these to the host whole, generate/next_tokens.h), and a peaked one. Prints
// milliseconds per sampled token, the best of `reps`. Where a GPU is present, also the GPU's draw
// (ops::sample_rows, no sort: a radix descent) for 256 such rows at once, the largest decode batch
// `s0 collect` runs: milliseconds per call, the median of `reps`.
//   build/bench/sampler_bench [reps=5]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

#include "generate/sampler.h"
#include "gpu_timing.h"
#include "ops/device_runtime.h"
#include "ops/sampling.h"

int main(int argc, char** argv) {
  const int reps = argc > 1 ? std::atoi(argv[1]) : 5;
  const int64_t vocab = 248320;
  const s0::SamplingOptions options{0.7, 0.95, 0, 1};
  for (const float spread : {0.3f, 6.0f}) {
    std::vector<float> row(static_cast<size_t>(vocab));
    std::mt19937 rng(1);
    std::normal_distribution<float> noise(0.0f, spread);
    for (float& v : row) v = noise(rng);
    if (s0::ops::cuda_device_count() > 0) {
      s0::ops::activate_device(s0::Device::cuda(0));
      const int64_t rows = 256;
      const s0::Tensor logits = s0::bench::random_on_gpu({rows, vocab}, 1, spread);
      std::vector<s0::ops::SampleRequest> requests;
      for (int64_t r = 0; r < rows; ++r)
        requests.push_back({r, options.temperature, vocab, options.top_p, 0x9e3779b97f4a7c15ull * (r + 1)});
      s0::Tensor tokens = s0::Tensor::empty({rows}, s0::DType::I64, logits.device());
      const double s = s0::bench::median_seconds(reps, [&] { s0::ops::sample_rows(logits, requests, tokens); }, 2);
      std::printf("gpu: %lld %s rows at once: %.3f ms a call\n", static_cast<long long>(rows),
                  spread < 1 ? "flat" : "peaked", s * 1e3);
    }
    s0::TokenSampler sampler(options, 0);
    double best = 1e30;
    for (int r = 0; r < reps; ++r) {
      const auto t = std::chrono::steady_clock::now();
      sampler.next(row.data(), vocab);
      best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count());
    }
    std::printf("%s row (logits ~ N(0, %.1f)), T %.1f, top-p %.2f: %.1f ms per token\n",
                spread < 1 ? "flat  " : "peaked", spread, options.temperature, options.top_p, best * 1e3);
  }
  return 0;
}
