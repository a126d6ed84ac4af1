#pragma once
// A random Falcon-H1 (Mamba-2 and attention in parallel in every layer) checkpoint in the Hugging
// Face layout, for benchmarks and tests. Weights are small Gaussian noise, norms at their identity,
// every muP multiplier 1.
#include <cstdint>
#include <filesystem>

#include "core/tensor.h"

namespace s0 {

// Defaults: the Falcon-H1-7B shape as issue 11's benchmark states it (44 layers, hidden 3072,
// attention 12 / 2 KV heads of dim 128, 24 Mamba-2 heads of dim 128, d_state 256); the MLP width,
// vocabulary and one SSM group are assumptions where that statement is silent.
struct FalconH1Dims {
  int64_t hidden = 3072, layers = 44, intermediate = 12288, vocab = 130049;
  int64_t heads = 12, kv_heads = 2, head_dim = 128;
  int64_t mamba_heads = 24, mamba_head_dim = 128, d_state = 256, groups = 1, conv_kernel = 4;
  int64_t max_positions = 262144;
  DType dtype = DType::BF16;  // BF16 or F32
  float init_std = 0.02f;
  uint64_t seed = 0;
};

void write_random_falcon_h1(const std::filesystem::path& dir, const FalconH1Dims& dims);

}  // namespace s0
