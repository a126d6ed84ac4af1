#pragma once
// Shapes of the small random checkpoints tests write (model/arch/random_*.h): every path of the
// family (grouped heads, key dim != value dim where the family allows it) at a size that runs in
// milliseconds on the CPU. `scale` multiplies the widths (hidden, MLP, head dims) for tests that
// need GEMMs large enough to matter; float32 weights, std 0.1, unless the caller changes them.
#include <cstdint>

#include "model/arch/random_falcon_h1.h"
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

}  // namespace s0::test
