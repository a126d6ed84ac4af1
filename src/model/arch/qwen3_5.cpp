// Qwen3.5 (model_type qwen3_5 with a text_config, or qwen3_5_text): the Qwen GatedDeltaNet hybrid
// (qwen_hybrid.h) with a dense SwiGLU MLP in every layer.
#include "model/arch/hybrid_layers.h"
#include "model/arch/qwen_hybrid.h"
#include "model/arch/registry.h"

namespace s0 {

HybridModel load_qwen3_5(const Checkpoint& ck, const LoadOptions& options) {
  QwenFamily f;
  f.architectures = {"Qwen3_5ForCausalLM", "Qwen3_5ForConditionalGeneration"};
  f.ffn = [](WeightLoader& wl, const std::string& p, int64_t, const QwenDims& d, const Json&, const std::string&,
             Block& blk) { load_swiglu_mlp(wl, p + "mlp.", d.inter, d.hidden, blk); };
  return load_qwen_hybrid(ck, options, f);
}

}  // namespace s0
