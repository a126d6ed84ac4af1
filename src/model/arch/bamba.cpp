// Bamba (model_type bamba): each layer is a Mamba-2 mixer or attention (partial rotary), then a
// SwiGLU MLP; plain RMSNorms (w * x). attn_layer_indices labels the attention layers; the weights
// each layer holds decide.
#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "model/arch/hf_config.h"
#include "model/arch/hybrid_layers.h"
#include "model/arch/registry.h"

namespace s0 {

HybridModel load_bamba(const Checkpoint& ck, const LoadOptions& options) {
  const Json& cfg = ck.config();
  const std::string o = ck.config_path();
  hf_check_architecture(cfg, {"BambaForCausalLM"}, o);
  hf_check_silu(cfg, o);
  const int64_t hidden = json_int(cfg, "hidden_size", o), inter = json_int(cfg, "intermediate_size", o);
  const int64_t layers = json_int(cfg, "num_hidden_layers", o);
  const auto [heads, kv_heads] = hf_attention_heads(cfg, o);
  if (inter <= 0 || layers <= 0)
    fail(o, ": intermediate_size ", inter, " and num_hidden_layers ", layers, " must be positive");
  const int64_t head_dim = json_int_or(cfg, "head_dim", hidden / heads, o);
  const double eps = json_number_or(cfg, "rms_norm_eps", 1e-5, o);
  const Mamba2Shape mamba = bamba_style_mamba2(cfg, o, hidden, eps);
  const int64_t rotary = static_cast<int64_t>(static_cast<double>(head_dim) * hf_partial_rotary_factor(cfg, o));
  const AttentionShape attention{hidden, heads, kv_heads, head_dim, rotary,
                                 json_bool_or(cfg, "attention_bias", false, o), hf_rope_theta(cfg, o),
                                 1.0 / std::sqrt(static_cast<double>(head_dim))};
  std::vector<int64_t> attn_layers;
  if (cfg.contains("attn_layer_indices") && !cfg["attn_layer_indices"].is_null())
    for (const Json& v : json_field(cfg, "attn_layer_indices", o)) {
      if (!v.is_number_integer()) fail(o, ": attn_layer_indices holds a non-integer ", v.dump());
      attn_layers.push_back(v.get<int64_t>());
    }

  HybridModel model = hybrid_model_shell(cfg, cfg, o, hidden, json_int(cfg, "vocab_size", o), eps);
  WeightLoader wl(ck, model, options);
  model.embed = wl.get("model.embed_tokens.weight", {model.vocab, hidden});
  for (int64_t l = 0; l < layers; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    const bool labelled_attention = std::find(attn_layers.begin(), attn_layers.end(), l) != attn_layers.end();
    const LayerMixer kind = layer_mixer(
        wl, l, {{LayerMixer::Mamba2, p + "mamba.in_proj.weight"}, {LayerMixer::Attention, p + "self_attn.q_proj.weight"}},
        labelled_attention ? LayerMixer::Attention : LayerMixer::Mamba2, o);
    Block blk;
    blk.mix_norm = wl.get(p + "input_layernorm.weight", {hidden});
    if (kind == LayerMixer::Mamba2) {
      blk.mixers.emplace_back(load_mamba2_mixer(wl, p + "mamba.", mamba));
      blk.recurrent_slot = static_cast<int>(model.recurrent.size());
      model.recurrent.push_back({static_cast<int>(l), "mamba2", {mamba.heads, mamba.head_dim, mamba.d_state}});
      model.layer_kinds.push_back("mamba2");
    } else {
      blk.mixers.emplace_back(load_plain_attention(wl, p + "self_attn.", attention));
      model.layer_kinds.push_back("full_attention");
    }
    blk.mlp_norm = wl.get(p + "pre_ff_layernorm.weight", {hidden});
    load_swiglu_mlp(wl, p + "feed_forward.", inter, hidden, blk);
    model.blocks.push_back(std::move(blk));
  }
  model.final_norm = wl.get("model.final_layernorm.weight", {hidden});
  attach_lm_head(wl, model, json_bool_or(cfg, "tie_word_embeddings", false, o));
  return model;
}

}  // namespace s0
