// Qwen3-Next (model_type qwen3_next): the Qwen GatedDeltaNet hybrid (qwen_hybrid.h) with fused,
// per-key-head interleaved GatedDeltaNet projections, and a sparse MoE block in every
// decoder_sparse_step-th layer outside mlp_only_layers (a dense MLP elsewhere); norm_topk_prob
// says whether the top-k weights are renormalised.
#include <algorithm>

#include "core/error.h"
#include "model/arch/hybrid_layers.h"
#include "model/arch/qwen_hybrid.h"
#include "model/arch/registry.h"

namespace s0 {

HybridModel load_qwen3_next(const Checkpoint& ck, const LoadOptions& options) {
  QwenFamily f;
  f.architectures = {"Qwen3NextForCausalLM"};
  f.gdn_layout = QwenGdnLayout::Fused;
  f.ffn = [](WeightLoader& wl, const std::string& p, int64_t l, const QwenDims& d, const Json& cfg,
             const std::string& origin, Block& blk) {
    std::vector<int64_t> dense_layers;
    if (cfg.contains("mlp_only_layers") && !cfg["mlp_only_layers"].is_null()) {
      for (const Json& v : json_field(cfg, "mlp_only_layers", origin)) {
        if (!v.is_number_integer()) fail(origin, ": mlp_only_layers holds a non-integer ", v.dump());
        dense_layers.push_back(v.get<int64_t>());
      }
    }
    const int64_t step = json_int_or(cfg, "decoder_sparse_step", 1, origin);
    if (step <= 0) fail(origin, ": decoder_sparse_step must be positive, got ", step);
    const bool sparse = json_int_or(cfg, "num_experts", 0, origin) > 0 && (l + 1) % step == 0 &&
                        std::find(dense_layers.begin(), dense_layers.end(), l) == dense_layers.end();
    if (sparse)
      load_qwen_sparse_moe(wl, p + "mlp.", d, cfg, origin, json_bool_or(cfg, "norm_topk_prob", true, origin), blk);
    else
      load_swiglu_mlp(wl, p + "mlp.", d.inter, d.hidden, blk);
  };
  return load_qwen_hybrid(ck, options, f);
}

}  // namespace s0
