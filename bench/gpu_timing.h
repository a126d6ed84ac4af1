#pragma once
// Timing GPU work from the host for the CUDA benches: random inputs made on the host and copied to
// cuda:0, and the median time of repeated calls, each synchronised (kernels run asynchronously, so
// the clock is read only once the device is done), after `warmups` untimed calls (module load and
// first allocations stay out of the numbers).
#include <algorithm>
#include <chrono>
#include <random>
#include <vector>

#include "core/tensor.h"
#include "ops/device_runtime.h"

namespace s0::bench {

inline Tensor random_on_gpu(Shape shape, uint32_t seed, float scale) {
  std::mt19937 gen(seed);
  std::normal_distribution<float> dist(0.0f, scale);
  std::vector<float> v(static_cast<size_t>(numel_of(shape)));
  for (float& x : v) x = dist(gen);
  return Tensor::from(std::move(shape), v).to(Device::cuda(0));
}

template <typename F>
double median_seconds(int reps, F&& f, int warmups = 10) {
  for (int i = 0; i < warmups; ++i) f();
  ops::synchronize(Device::cuda(0));
  std::vector<double> s;
  for (int i = 0; i < reps; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    f();
    ops::synchronize(Device::cuda(0));
    s.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(s.begin(), s.end());
  return s[s.size() / 2];
}

}  // namespace s0::bench
