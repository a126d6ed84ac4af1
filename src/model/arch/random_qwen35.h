#pragma once
// A random Qwen3.5 (GatedDeltaNet 3 : 1 attention) checkpoint in the Hugging Face layout
// (config.json + model.safetensors), for benchmarks and the demo: anything that needs a model of a
// given shape without a download. Weights are small Gaussian noise, norms at their identity. With
// experts > 0 it is a Qwen3.5-MoE (qwen3_5_moe_text): every layer's MLP a sparse MoE block with a
// gated shared expert, experts one tensor each as the published checkpoints store them.
#include <cstdint>
#include <filesystem>

#include "core/tensor.h"

namespace s0 {

// Defaults: roughly Qwen3.5-0.8B.
struct Qwen35Dims {
  int64_t hidden = 1024, layers = 24, intermediate = 3584, vocab = 248320;
  int64_t full_attention_interval = 4;  // layer i is attention when (i + 1) % interval == 0
  int64_t linear_k_heads = 16, linear_v_heads = 16, linear_k_dim = 128, linear_v_dim = 128, conv_kernel = 4;
  int64_t heads = 8, kv_heads = 2, head_dim = 256;
  double partial_rotary = 0.25;
  int64_t max_positions = 262144;
  int64_t eos_token_id = 0;
  bool tied = true;
  DType dtype = DType::BF16;  // BF16 or F32
  float init_std = 0.02f;
  // Sparse MoE instead of the dense MLP when experts > 0.
  int64_t experts = 0, experts_per_token = 8, moe_intermediate = 512, shared_intermediate = 512;
  // GatedDeltaNet A_log ~ uniform [min, max]: the decay rate of each head (HF initialises log [1, 16]).
  float a_log_min = 0.0f, a_log_max = 2.7725887f;
  uint64_t seed = 0;
};

// Two heads' worth of everything: hidden 64, 4 layers (3 GatedDeltaNet, 1 attention), float32; for
// a demo or a smoke run on the CPU in seconds. The caller's tokenizer sets vocabulary and EOS.
Qwen35Dims tiny_qwen35_dims(int64_t vocab, int64_t eos_token_id);

void write_random_qwen35(const std::filesystem::path& dir, const Qwen35Dims& dims);

}  // namespace s0
