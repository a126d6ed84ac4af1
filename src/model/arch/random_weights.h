#pragma once
// Random tensors for the random checkpoints that benchmarks and tests write (random_qwen35.h,
// random_falcon_h1.h): seeded, stored as F32 or BF16 as a real checkpoint would be.
#include <cstdint>
#include <random>

#include "core/tensor.h"

namespace s0 {

class RandomWeights {
 public:
  RandomWeights(DType dtype, uint64_t seed);
  Tensor normal(Shape shape, float std);
  Tensor constant(Shape shape, float v);
  Tensor uniform(Shape shape, float lo, float hi);

 private:
  template <typename Gen>
  Tensor make(Shape shape, Gen gen);
  DType dtype_;
  std::mt19937_64 rng_;
};

}  // namespace s0
