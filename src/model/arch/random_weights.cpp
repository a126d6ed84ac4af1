#include "model/arch/random_weights.h"

#include "core/error.h"
#include "core/half.h"

namespace s0 {

RandomWeights::RandomWeights(DType dtype, uint64_t seed) : dtype_(dtype), rng_(seed) {
  if (dtype != DType::F32 && dtype != DType::BF16) fail("random checkpoint: dtype must be F32 or BF16");
}

Tensor RandomWeights::normal(Shape shape, float std) {
  std::normal_distribution<float> dist(0.0f, std);
  return make(std::move(shape), [&] { return dist(rng_); });
}

Tensor RandomWeights::constant(Shape shape, float v) {
  return make(std::move(shape), [&] { return v; });
}

Tensor RandomWeights::uniform(Shape shape, float lo, float hi) {
  std::uniform_real_distribution<float> dist(lo, hi);
  return make(std::move(shape), [&] { return dist(rng_); });
}

template <typename Gen>
Tensor RandomWeights::make(Shape shape, Gen gen) {
  Tensor t = Tensor::empty(std::move(shape), dtype_);
  const int64_t n = t.numel();
  if (dtype_ == DType::F32) {
    float* p = t.f32_mut();
    for (int64_t i = 0; i < n; ++i) p[i] = gen();
  } else {
    uint16_t* p = static_cast<uint16_t*>(t.raw_mut());
    for (int64_t i = 0; i < n; ++i) p[i] = f32_to_bf16(gen());
  }
  return t;
}

}  // namespace s0
