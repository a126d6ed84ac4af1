// The host's sampler (TokenSampler::next) on one row of Qwen3.5's vocabulary (248320 tokens): a
// flat row, whose top-p nucleus is most of the vocabulary (random-weight models give such rows; a
// GPU hands rows like these to the host whole, generate/next_tokens.h), and a peaked one. Prints
// milliseconds per sampled token, the best of `reps`.
//   build/bench/sampler_bench [reps=5]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

#include "generate/sampler.h"

int main(int argc, char** argv) {
  const int reps = argc > 1 ? std::atoi(argv[1]) : 5;
  const int64_t vocab = 248320;
  const s0::SamplingOptions options{0.7, 0.95, 0, 1};
  for (const float spread : {0.3f, 6.0f}) {
    std::vector<float> row(static_cast<size_t>(vocab));
    std::mt19937 rng(1);
    std::normal_distribution<float> noise(0.0f, spread);
    for (float& v : row) v = noise(rng);
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
