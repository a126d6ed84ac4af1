#pragma once
// What the Qwen GatedDeltaNet hybrids share (Qwen3.5 dense and MoE, Qwen3-Next): the config
// fields, gated attention, GatedDeltaNet, zero-centred (1 + w) RMSNorms, the layer_types pattern,
// the text and multimodal weight prefixes. Each family file supplies how its GatedDeltaNet
// projection is stored and what feed-forward each layer has.
#include <functional>
#include <string>
#include <vector>

#include "io/checkpoint.h"
#include "model/arch/registry.h"
#include "model/arch/weight_loader.h"
#include "model/model.h"

namespace s0 {

struct QwenDims {
  int64_t hidden, inter, vocab, layers;
  int64_t heads, kv_heads, head_dim;
  int64_t nk, nv, dk, dv, conv_k;
  double eps;
};

// How a family stores the GatedDeltaNet input projection.
enum class QwenGdnLayout {
  Split,  // in_proj_qkv, in_proj_z, in_proj_b, in_proj_a (Qwen3.5)
  Fused,  // in_proj_qkvz, in_proj_ba, interleaved per key head (Qwen3-Next)
};

struct QwenFamily {
  std::vector<std::string> architectures;  // accepted architectures[0]
  QwenGdnLayout gdn_layout = QwenGdnLayout::Split;
  // Fills blk's feed-forward for layer `l` from tensors under prefix p ("...layers.{l}.").
  std::function<void(WeightLoader& wl, const std::string& p, int64_t l, const QwenDims& d, const Json& cfg,
                     const std::string& origin, Block& blk)>
      ffn;
};

HybridModel load_qwen_hybrid(const Checkpoint& ck, const LoadOptions& options, const QwenFamily& family);

// The sparse MoE block under prefix p ("...mlp."): router p + "gate.weight", routed experts
// (moe_weights.h), and, when shared_expert_intermediate_size > 0, the shared expert with its
// sigmoid gate. `normalize`: the top-k weights are renormalised to sum 1.
void load_qwen_sparse_moe(WeightLoader& wl, const std::string& p, const QwenDims& d, const Json& cfg,
                          const std::string& origin, bool normalize, Block& blk);

}  // namespace s0
