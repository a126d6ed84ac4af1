#pragma once
// Inputs and comparisons shared by the GPU-vs-CPU op tests: random tensors on the host, packed
// batches, row blocks, bit-for-bit equality and a printed relative difference.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include "gpu_compare.h"
#include "ops/varlen.h"

namespace s0::test {

using ops::Varlen;

inline Tensor uniform(const Shape& shape, float lo, float hi, std::mt19937& rng) {
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> values(static_cast<size_t>(numel_of(shape)));
  for (auto& x : values) x = dist(rng);
  return Tensor::from(shape, values);
}

// Rows of the last dimension scaled to norm `scale`, as the mixer feeds q and k.
inline Tensor unit_rows(const Shape& shape, float scale, std::mt19937& rng) {
  Tensor t = uniform(shape, -1.0f, 1.0f, rng);
  const int64_t width = shape.back();
  float* p = t.f32_mut();
  for (int64_t r = 0; r < t.numel() / width; ++r) {
    double norm = 0.0;
    for (int64_t e = 0; e < width; ++e) norm += double(p[r * width + e]) * p[r * width + e];
    for (int64_t e = 0; e < width; ++e) p[r * width + e] *= scale / static_cast<float>(std::sqrt(norm));
  }
  return t;
}

inline Varlen packed(const std::vector<int64_t>& lengths) {
  Varlen v{{0}};
  for (int64_t n : lengths) v.offsets.push_back(v.offsets.back() + n);
  return v;
}

// Rows [begin, begin + count) of a tensor whose first dimension is rows (a copy).
inline Tensor rows_of(const Tensor& t, int64_t begin, int64_t count) {
  const Tensor h = on_cpu(t);
  Shape shape = h.shape();
  const int64_t width = h.numel() / shape[0];
  shape[0] = count;
  std::vector<float> values(h.f32() + begin * width, h.f32() + (begin + count) * width);
  return Tensor::from(shape, values);
}

inline bool bit_identical(const Tensor& a, const Tensor& b) {
  const Tensor x = on_cpu(a), y = on_cpu(b);
  return x.shape() == y.shape() && std::memcmp(x.raw(), y.raw(), x.nbytes()) == 0;
}

// Checks and prints one tensor's difference.
inline void expect_close(const std::string& what, const Tensor& cpu, const Tensor& gpu, double tolerance) {
  const double diff = relative_difference(cpu, gpu);
  std::cout << "    " << what << ": relative difference " << diff << "\n";
  EXPECT_LE(diff, tolerance) << what;
}


}  // namespace s0::test
