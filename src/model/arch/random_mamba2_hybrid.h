#pragma once
// Random checkpoints of the Mamba-2 hybrids, Bamba, Granite 4.0 H (granitemoehybrid) and Nemotron-H,
// in the Hugging Face layout, for tests and benchmarks (random_layers.h draws the weights; norms at
// their identity). One description serves the three: the layer pattern, the Mamba-2 and attention
// shapes, the feed-forward.
#include <cstdint>
#include <filesystem>
#include <string>

#include "core/tensor.h"

namespace s0 {

enum class Mamba2Hybrid { Bamba, Granite, NemotronH };

// The defaults are a small shape, not a published model's.
struct Mamba2HybridDims {
  Mamba2Hybrid family = Mamba2Hybrid::Bamba;
  // One character per layer, as Nemotron-H's hybrid_override_pattern: 'M' Mamba-2, '*' attention,
  // and for Nemotron-H, whose layers are one mixer each, '-' a squared-ReLU MLP and 'E' an MoE.
  // Bamba's and Granite's layers each end with their feed-forward.
  std::string pattern = "MM*M";
  int64_t hidden = 256, vocab = 1024;
  int64_t intermediate = 512;  // Bamba's and Nemotron-H's MLP; Granite's shared MLP
  int64_t heads = 4, kv_heads = 2, head_dim = 64;
  // Bamba and Granite need mamba_heads * mamba_head_dim to be a multiple of hidden (mamba_expand).
  int64_t mamba_heads = 8, mamba_head_dim = 32, d_state = 16, groups = 1, conv_kernel = 4;
  // Routed experts: Granite's MoE beside the shared MLP when experts > 0; Nemotron-H's 'E' layers
  // (sigmoid router with grouped top-k and a squared-ReLU shared expert of shared_intermediate).
  int64_t experts = 0, experts_per_token = 2, moe_intermediate = 128, shared_intermediate = 256;
  int64_t n_group = 1, topk_group = 1;
  double routed_scaling = 1.0;
  int64_t max_positions = 4096;
  DType dtype = DType::BF16;  // BF16 or F32
  float init_std = 0.02f;
  uint64_t seed = 0;
};

// Fails naming what is wrong when the description cannot be written as its family's checkpoint.
void write_random_mamba2_hybrid(const std::filesystem::path& dir, const Mamba2HybridDims& dims);

}  // namespace s0
