#pragma once
// The memory-bandwidth floor of a decode step, shared by decode_bench and serve_bench: the weight
// bytes one step reads over the memory's bandwidth. On the CPU the machine's measured streaming
// read; on a GPU the card's nominal bandwidth, 3.35 TB/s for an H100 and 4.8 TB/s for an H200, both
// given (the benchmark cannot tell the cards apart by itself: name the card beside the numbers).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "core/device.h"
#include "model/model.h"

namespace s0::bench {

// GB/s of a parallel streaming sum over a buffer far larger than the caches (best of 5). Sixteen
// independent partial sums per thread keep the loop vectorised, so memory, not the adder, limits it.
inline double read_bandwidth() {
  const size_t n = size_t{1} << 28;  // 1 GiB of floats
  std::vector<float> buf(n, 1.0f);
  double best = 0;
  for (int rep = 0; rep < 5; ++rep) {
    const auto t = std::chrono::steady_clock::now();
    double sum = 0;
#pragma omp parallel reduction(+ : sum)
    {
      float lane[16] = {};
#pragma omp for schedule(static)
      for (size_t b = 0; b < n / 16; ++b)
        for (int l = 0; l < 16; ++l) lane[l] += buf[b * 16 + l];
      for (float v : lane) sum += v;
    }
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
    if (sum != static_cast<double>(n)) std::printf("(bandwidth check sum %.0f)\n", sum);
    best = std::max(best, n * sizeof(float) / s / 1e9);
  }
  return best;
}

// Bytes of weight matrices one decode step reads: every Linear once (in the dtype the model holds
// it in), the LM head included; the embedding is a row lookup.
inline double weight_bytes_per_step(const HybridModel& m) {
  double bytes = static_cast<double>(m.lm_head.w.nbytes());
  auto linear = [&](const Linear& l) { bytes += static_cast<double>(l.w.nbytes()); };
  for (const Block& b : m.blocks) {
    linear(b.gate_up);
    linear(b.down);
    for (const Mixer& mx : b.mixers)
      std::visit([&](const auto& mixer) {
        linear(mixer.in_proj);
        linear(mixer.out_proj);
      }, mx);
  }
  return bytes;
}

// The floors of a step reading `bytes` on `device`: {name, seconds per step}, the first the one to
// compare with. On the CPU this measures the bandwidth (about a second).
inline std::vector<std::pair<std::string, double>> decode_floors(Device device, double bytes) {
  if (!device.is_cpu()) return {{"H100 3.35 TB/s", bytes / 3.35e12}, {"H200 4.8 TB/s", bytes / 4.8e12}};
  const double bw = read_bandwidth();
  std::printf("streaming read bandwidth %.1f GB/s\n", bw);
  return {{"measured", bytes / (bw * 1e9)}};
}

inline void print_floors(const std::vector<std::pair<std::string, double>>& floors) {
  for (const auto& [name, f] : floors)
    std::printf("floor (%s): %.2f ms per step, %.1f steps/s\n", name.c_str(), f * 1e3, 1.0 / f);
}

}  // namespace s0::bench
