#pragma once
// Running an op on the GPU beside the CPU: the same inputs copied to cuda:0, the outputs brought
// back and compared with the CPU's (the CPU ops are themselves checked against naive oracles and
// finite differences). Tests that need a GPU skip, with the reason, where there is none.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "core/tensor.h"
#include "ops/device_runtime.h"

namespace s0::test {

// Skips the calling test unless a GPU can be used; makes cuda:0 current.
#define S0_REQUIRE_GPU()                                                                      \
  do {                                                                                        \
    if (::s0::ops::cuda_device_count() == 0) GTEST_SKIP() << "no GPU (or a build without CUDA)"; \
    ::s0::ops::activate_device(::s0::Device::cuda(0));                                         \
  } while (0)

inline Tensor on_gpu(const Tensor& t) { return t.empty() ? Tensor() : t.to(Device::cuda(0)); }
inline Tensor on_cpu(const Tensor& t) { return t.empty() ? Tensor() : t.to(Device::cpu()); }

// Largest |gpu - cpu| relative to the largest |cpu| (1 where that is 0); NaN anywhere gives NaN, so
// EXPECT_LE fails on it.
inline double relative_difference(const Tensor& cpu, const Tensor& gpu) {
  const Tensor a = on_cpu(cpu).to_f32(), b = on_cpu(gpu).to_f32();
  if (a.shape() != b.shape()) return INFINITY;
  double diff = 0, scale = 0;
  for (int64_t i = 0; i < a.numel(); ++i) {
    const double x = a.f32()[i], y = b.f32()[i];
    if (std::isnan(x) || std::isnan(y)) return NAN;
    diff = std::max(diff, std::abs(x - y));
    scale = std::max(scale, std::abs(x));
  }
  return diff / (scale > 0 ? scale : 1.0);
}

}  // namespace s0::test
