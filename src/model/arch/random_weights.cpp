#include "model/arch/random_weights.h"

#include <algorithm>

#include "core/error.h"
#include "core/half.h"

namespace s0 {

namespace {

constexpr int64_t kBlock = int64_t{1} << 16;  // values per generator

// SplitMix64's finaliser: nearby (seed, tensor, block) triples get unrelated generators.
uint64_t mix(uint64_t z) {
  z += 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// A distribution that always gives one value (RandomWeights::constant).
struct Constant {
  float v;
  float operator()(std::mt19937_64&) const { return v; }
};

}  // namespace

RandomWeights::RandomWeights(DType dtype, uint64_t seed) : dtype_(dtype), seed_(seed) {
  if (dtype != DType::F32 && dtype != DType::BF16) fail("random checkpoint: dtype must be F32 or BF16");
}

Tensor RandomWeights::normal(Shape shape, float std) {
  return make(std::move(shape), std::normal_distribution<float>(0.0f, std));
}

Tensor RandomWeights::constant(Shape shape, float v) { return make(std::move(shape), Constant{v}); }

Tensor RandomWeights::uniform(Shape shape, float lo, float hi) {
  return make(std::move(shape), std::uniform_real_distribution<float>(lo, hi));
}

template <typename Dist>
Tensor RandomWeights::make(Shape shape, const Dist& dist) {
  Tensor t = Tensor::empty(std::move(shape), dtype_);
  const int64_t n = t.numel(), blocks = (n + kBlock - 1) / kBlock;
  const uint64_t tensor = mix(mix(seed_) ^ tensors_++);
  float* f32 = dtype_ == DType::F32 ? t.f32_mut() : nullptr;
  uint16_t* bf16 = dtype_ == DType::BF16 ? static_cast<uint16_t*>(t.raw_mut()) : nullptr;
#pragma omp parallel for schedule(dynamic, 1)
  for (int64_t b = 0; b < blocks; ++b) {
    std::mt19937_64 rng(mix(tensor ^ static_cast<uint64_t>(b)));
    Dist d = dist;
    for (int64_t i = b * kBlock, end = std::min(n, i + kBlock); i < end; ++i) {
      const float v = d(rng);
      if (f32) f32[i] = v;
      else bf16[i] = f32_to_bf16(v);
    }
  }
  return t;
}

}  // namespace s0
