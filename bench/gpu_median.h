#pragma once
// Wall time of work queued on the first GPU, for the CUDA benches: `warmups` untimed calls, then
// the median of `reps` timed ones, each synchronised (kernels run asynchronously, so the clock is
// read only once the device is done).
#include <algorithm>
#include <chrono>
#include <vector>

#include "ops/device_runtime.h"

namespace s0::bench {

template <typename F>
double gpu_median_seconds(int warmups, int reps, F&& f) {
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
