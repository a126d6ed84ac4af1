#pragma once
// Shapes of the small random checkpoints tests write (model/arch/random_*.h): every path of the
// family (grouped heads, key dim != value dim where the family allows it) at a size that runs in
// milliseconds on the CPU. `scale` multiplies the widths (hidden, MLP, head dims) for tests that
// need GEMMs large enough to matter; float32 weights, std 0.1, unless the caller changes them.
#include <cstdint>

#include "model/arch/random_falcon_h1.h"
#include "model/arch/random_mamba2_hybrid.h"
#include "model/arch/random_qwen35.h"

namespace s0::test {

inline Qwen35Dims small_qwen35(int64_t scale = 1) {
  Qwen35Dims d;
  d.hidden = 64 * scale;
  d.layers = 4;
  d.intermediate = 96 * scale;
  d.vocab = 300;
  d.linear_k_heads = 2;
  d.linear_v_heads = 4;
  d.linear_k_dim = d.linear_v_dim = 16 * scale;
  d.heads = 4;
  d.kv_heads = 2;
  d.head_dim = 16 * scale;
  d.dtype = DType::F32;
  d.init_std = 0.1f;
  return d;
}

inline FalconH1Dims small_falcon_h1(int64_t scale = 1) {
  FalconH1Dims d;
  d.hidden = 48 * scale;
  d.layers = 3;
  d.intermediate = 96 * scale;
  d.vocab = 101;
  d.heads = 4;
  d.kv_heads = 2;
  d.head_dim = 12 * scale;
  d.mamba_heads = 6;
  d.mamba_head_dim = 8 * scale;
  d.d_state = 10;
  d.groups = 2;
  d.dtype = DType::F32;
  d.init_std = 0.1f;
  return d;
}

// Every layer kind of the family: Nemotron-H "M*-EM" with 6 experts in 3 groups (2 kept, top 2),
// Bamba and Granite "M*M" (Granite with 4 experts, top 2, beside its shared MLP).
inline Mamba2HybridDims small_mamba2_hybrid(Mamba2Hybrid family, int64_t scale = 1) {
  Mamba2HybridDims d;
  d.family = family;
  d.pattern = family == Mamba2Hybrid::NemotronH ? "M*-EM" : "M*M";
  d.hidden = 32 * scale;
  d.vocab = 97;
  d.intermediate = 40 * scale;
  d.heads = 4;
  d.kv_heads = 2;
  d.head_dim = 8 * scale;
  d.mamba_heads = 4;
  d.mamba_head_dim = 16 * scale;
  d.d_state = 6;
  d.groups = 2;
  d.experts = family == Mamba2Hybrid::Bamba ? 0 : family == Mamba2Hybrid::Granite ? 4 : 6;
  d.moe_intermediate = 12 * scale;
  d.shared_intermediate = 20 * scale;
  d.n_group = family == Mamba2Hybrid::NemotronH ? 3 : 1;
  d.topk_group = family == Mamba2Hybrid::NemotronH ? 2 : 1;
  d.routed_scaling = 2.5;
  d.dtype = DType::F32;
  d.init_std = 0.1f;
  return d;
}

}  // namespace s0::test
