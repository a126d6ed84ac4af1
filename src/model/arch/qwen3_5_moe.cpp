// Qwen3.5 / Qwen3.6 MoE (model_type qwen3_5_moe with a text_config, or qwen3_5_moe_text): the Qwen
// GatedDeltaNet hybrid (qwen_hybrid.h) with a sparse MoE block in every layer. Its router always
// renormalises the top-k probabilities (the config has no norm_topk_prob).
#include "model/arch/qwen_hybrid.h"
#include "model/arch/registry.h"

namespace s0 {

HybridModel load_qwen3_5_moe(const Checkpoint& ck, const LoadOptions& options) {
  QwenFamily f;
  f.architectures = {"Qwen3_5MoeForCausalLM", "Qwen3_5MoeForConditionalGeneration"};
  f.ffn = [](WeightLoader& wl, const std::string& p, int64_t, const QwenDims& d, const Json& cfg,
             const std::string& origin, Block& blk) {
    load_qwen_sparse_moe(wl, p + "mlp.", d, cfg, origin, /*normalize=*/true, blk);
  };
  return load_qwen_hybrid(ck, options, f);
}

}  // namespace s0
