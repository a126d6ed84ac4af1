// The host's share of a training step (issue 11): the optimizer update train_states makes after each
// objective (gradient checked finite, the states copied for a non-finite update to be undone,
// clipping and Adam, the new states checked and their norms) on the trained states of the
// Qwen3.5-4B shape: 24 GatedDeltaNet layers of 32 heads x [128 x 128] f32, 12.6 million values. The
// states, gradients and Adam's double moments live on the host, so at that size this is a fixed
// cost of every step, GPU or not. Prints milliseconds per update (the best of `reps`) with the
// OpenMP threads used (OMP_NUM_THREADS sets them).
//   build/bench/trainer_host_bench [reps=5] [layers=24] [heads=32] [dk=128] [dv=128]
#include <omp.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

#include "tune/adam.h"
#include "tune/trainer.h"

using namespace s0;

int main(int argc, char** argv) {
  auto arg = [&](int i, int64_t fallback) { return argc > i ? std::atoll(argv[i]) : fallback; };
  const int reps = static_cast<int>(arg(1, 5));
  const int64_t layers = arg(2, 24), heads = arg(3, 32), dk = arg(4, 128), dv = arg(5, 128);
  std::mt19937 rng(1);
  std::normal_distribution<float> noise(0.0f, 1e-3f);
  std::vector<Tensor> params, grads;
  for (int64_t l = 0; l < layers; ++l) {
    params.push_back(Tensor::zeros({heads, dk, dv}));
    grads.push_back(Tensor::zeros({heads, dk, dv}));
  }
  Adam adam({1e-3, 0.9, 0.999, 1e-8, 1.0}, params);
  double best = 1e30;
  for (int r = 0; r < reps; ++r) {
    for (Tensor& g : grads)  // a fresh gradient each step (the update clips it in place)
      for (int64_t i = 0; i < g.numel(); ++i) g.f32_mut()[i] = noise(rng);
    StepReport rep;
    const auto t = std::chrono::steady_clock::now();
    if (const auto stop = update_states(adam, params, grads, 1.0, rep)) {
      std::fprintf(stderr, "trainer_host_bench: %s\n", stop->c_str());
      return 1;
    }
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count());
  }
  std::printf("%lld states of [%lld, %lld, %lld] (%.1f M values), %d threads: %.1f ms per update\n",
              static_cast<long long>(layers), static_cast<long long>(heads), static_cast<long long>(dk),
              static_cast<long long>(dv), static_cast<double>(layers * heads * dk * dv) / 1e6, omp_get_max_threads(),
              best * 1e3);
  return 0;
}
