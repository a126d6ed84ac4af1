#pragma once
// Random tensors for the random checkpoints that benchmarks and tests write (random_qwen35.h,
// random_falcon_h1.h): seeded, stored as F32 or BF16 as a real checkpoint would be. A tensor is
// drawn in blocks, each from its own generator seeded by the seed, the tensor's place in the
// sequence of draws and the block's index, so that the blocks are drawn in parallel (a 4B-parameter
// checkpoint in seconds) and the values never depend on the number of threads.
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
  // `dist` is copied for each block (a distribution may carry state between draws).
  template <typename Dist>
  Tensor make(Shape shape, const Dist& dist);
  DType dtype_;
  uint64_t seed_;
  uint64_t tensors_ = 0;  // tensors drawn so far
};

}  // namespace s0
