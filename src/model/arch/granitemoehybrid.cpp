// Granite 4.0 H (model_type granitemoehybrid): each layer is a Mamba-2 mixer or attention (rotary
// or none, as position_embedding_type says), then a shared SwiGLU MLP plus, with experts, a sparse
// MoE block (softmax over the top-k router logits: the top-k probabilities renormalised). Its
// multipliers fold into the weights: residual_multiplier into every output projection (the routed
// experts', which stay mapped, as the MoE's output_scale), attention_multiplier is the score scale,
// embedding_multiplier and 1 / logits_scaling stay scalars.
#include <cmath>

#include "core/error.h"
#include "model/arch/hf_config.h"
#include "model/arch/hybrid_layers.h"
#include "model/arch/moe_weights.h"
#include "model/arch/registry.h"

namespace s0 {

HybridModel load_granitemoehybrid(const Checkpoint& ck, const LoadOptions& options) {
  const Json& cfg = ck.config();
  const std::string o = ck.config_path();
  hf_check_architecture(cfg, {"GraniteMoeHybridForCausalLM"}, o);
  hf_check_silu(cfg, o);
  const int64_t hidden = json_int(cfg, "hidden_size", o), layers = json_int(cfg, "num_hidden_layers", o);
  const auto [heads, kv_heads] = hf_attention_heads(cfg, o);
  if (layers <= 0) fail(o, ": num_hidden_layers must be positive, got ", layers);
  const int64_t head_dim = hidden / heads;
  const double eps = json_number_or(cfg, "rms_norm_eps", 1e-6, o);
  const float residual = static_cast<float>(json_number_or(cfg, "residual_multiplier", 1.0, o));
  const Mamba2Shape mamba = bamba_style_mamba2(cfg, o, hidden, eps);
  std::string positions = "none";
  if (cfg.contains("position_embedding_type") && !cfg["position_embedding_type"].is_null())
    positions = json_string(cfg, "position_embedding_type", o);
  if (positions != "rope" && positions != "nope" && positions != "none")
    fail(o, ": position_embedding_type \"", positions, "\" is not supported (rope, nope or null)");
  const bool rope = positions == "rope";
  const AttentionShape attention{hidden, heads, kv_heads, head_dim, rope ? head_dim : 0,
                                 json_bool_or(cfg, "attention_bias", false, o), rope ? hf_rope_theta(cfg, o) : 0.0,
                                 json_number_or(cfg, "attention_multiplier", 1.0, o)};
  std::vector<std::string> labels;
  if (cfg.contains("layer_types") && !cfg["layer_types"].is_null())
    for (const Json& v : json_field(cfg, "layer_types", o)) labels.push_back(v.is_string() ? v.get<std::string>() : "");
  if (!labels.empty() && static_cast<int64_t>(labels.size()) != layers)
    fail(o, ": layer_types must list num_hidden_layers (", layers, ") entries");
  const int64_t experts = json_int_or(cfg, "num_local_experts", 0, o);
  const int64_t shared = json_int_or(cfg, "shared_intermediate_size", 0, o);

  HybridModel model = hybrid_model_shell(cfg, cfg, o, hidden, json_int(cfg, "vocab_size", o), eps);
  model.embed_scale = static_cast<float>(json_number_or(cfg, "embedding_multiplier", 1.0, o));
  model.logit_scale = static_cast<float>(1.0 / json_number_or(cfg, "logits_scaling", 1.0, o));
  WeightLoader wl(ck, model, options);
  model.embed = wl.get("model.embed_tokens.weight", {model.vocab, hidden});
  for (int64_t l = 0; l < layers; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    std::optional<LayerMixer> label;
    if (!labels.empty()) label = layer_label(labels[l], o + " layer_types");
    const LayerMixer kind = layer_mixer(
        wl, l, {{LayerMixer::Mamba2, p + "mamba.in_proj.weight"}, {LayerMixer::Attention, p + "self_attn.q_proj.weight"}},
        label, o);
    Block blk;
    blk.mix_norm = wl.get(p + "input_layernorm.weight", {hidden});
    if (kind == LayerMixer::Mamba2) {
      Mamba2Mixer m = load_mamba2_mixer(wl, p + "mamba.", mamba);
      scale_all(m.out_proj.w, residual);
      scale_all(m.out_proj.b, residual);
      blk.mixers.emplace_back(std::move(m));
      blk.recurrent_slot = static_cast<int>(model.recurrent.size());
      model.recurrent.push_back({static_cast<int>(l), "mamba2", {mamba.heads, mamba.head_dim, mamba.d_state}});
      model.layer_kinds.push_back("mamba2");
    } else {
      AttentionMixer m = load_plain_attention(wl, p + "self_attn.", attention);
      scale_all(m.out_proj.w, residual);
      scale_all(m.out_proj.b, residual);
      blk.mixers.emplace_back(std::move(m));
      model.layer_kinds.push_back("full_attention");
    }
    blk.mlp_norm = wl.get(p + "post_attention_layernorm.weight", {hidden});
    if (shared > 0) {
      blk.gate_up = make_linear(wl.get(p + "shared_mlp.input_linear.weight", {2 * shared, hidden}));
      Tensor down = wl.get(p + "shared_mlp.output_linear.weight", {hidden, shared});
      scale_all(down, residual);
      blk.down = make_linear(std::move(down));
    }
    if (experts > 0) {
      const std::string m = p + "block_sparse_moe.";
      const int64_t k = json_int(cfg, "num_experts_per_tok", o), I = json_int(cfg, "intermediate_size", o);
      if (k < 1 || k > experts) fail(o, ": num_experts_per_tok ", k, " must be between 1 and num_local_experts ", experts);
      SparseMoe moe;
      moe.top_k = k;
      moe.normalize = true;
      moe.output_scale = residual;
      moe.router = make_linear(wl.get(m + "router.layer.weight", {experts, hidden}));
      moe.router.precise = true;  // as Qwen's: keeps the choice of experts that of an exact computation
      moe.experts = load_stacked_experts(wl, m + "input_linear.weight", m + "output_linear.weight", experts, 2 * I, I,
                                         hidden);
      blk.moe = std::move(moe);
    }
    if (shared <= 0 && experts <= 0) fail(o, ": neither shared_intermediate_size nor num_local_experts is positive");
    model.blocks.push_back(std::move(blk));
  }
  model.final_norm = wl.get("model.norm.weight", {hidden});
  attach_lm_head(wl, model, json_bool_or(cfg, "tie_word_embeddings", false, o));
  return model;
}

}  // namespace s0
