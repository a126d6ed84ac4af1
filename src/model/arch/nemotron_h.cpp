// Nemotron-H (model_type nemotron_h): every layer is one residual step x += mixer(norm(x)) whose
// mixer is Mamba-2 (gated norm in groups of d / n_groups), attention without positions, or a
// squared-ReLU MLP. layers_block_type (or the legacy hybrid_override_pattern) labels them, with
// "linear_attention" for Mamba-2; the weights each layer holds decide. An MoE layer (Nemotron 3
// Nano) is a sigmoid router with a score-correction bias and grouped top-k (ops/moe.h's
// route_sigmoid_grouped), squared-ReLU experts without gate, and a squared-ReLU shared expert that
// every token uses. The latent projection around the experts (moe_latent_size) is not supported and
// says so.
#include <cmath>

#include "core/error.h"
#include "model/arch/hf_config.h"
#include "model/arch/hybrid_layers.h"
#include "model/arch/moe_weights.h"
#include "model/arch/registry.h"

namespace s0 {

namespace {

// The config's label of each layer, from layers_block_type or the pattern string ("M*-E").
std::vector<LayerMixer> layer_labels(const Json& cfg, const std::string& o) {
  std::vector<std::string> raw;
  if (cfg.contains("layers_block_type") && !cfg["layers_block_type"].is_null()) {
    for (const Json& v : json_field(cfg, "layers_block_type", o)) raw.push_back(v.is_string() ? v.get<std::string>() : "");
  } else {
    for (char c : json_string(cfg, "hybrid_override_pattern", o)) raw.push_back(std::string(1, c));
  }
  std::vector<LayerMixer> out;
  for (const std::string& r : raw) out.push_back(layer_label(r, o + " layers_block_type"));
  if (out.empty()) fail(o, ": layers_block_type lists no layers");
  return out;
}

int64_t int_of(const Json& c, const char* key, const char* legacy, int64_t def, const std::string& o) {
  return c.contains(key) ? json_int(c, key, o) : json_int_or(c, legacy, def, o);
}

// The MoE layers' shape and routing, checked as transformers would need them.
struct NemotronMoeShape {
  int64_t experts = 0, top_k = 0, inter = 0, shared_inter = 0;
  bool normalize = true;
  ops::GroupedTopK groups;
};

NemotronMoeShape moe_shape(const Json& cfg, const std::string& o) {
  if (cfg.contains("moe_latent_size") && !cfg["moe_latent_size"].is_null())
    fail(o, ": moe_latent_size (a latent projection around the experts) is not supported");
  NemotronMoeShape s;
  s.experts = json_int(cfg, "n_routed_experts", o);
  s.top_k = json_int(cfg, "num_experts_per_tok", o);
  s.inter = json_int(cfg, "moe_intermediate_size", o);
  s.shared_inter = json_int(cfg, "moe_shared_expert_intermediate_size", o);
  s.normalize = json_bool_or(cfg, "norm_topk_prob", true, o);
  s.groups.n_group = json_int_or(cfg, "n_group", 1, o);
  s.groups.topk_group = json_int_or(cfg, "topk_group", 1, o);
  s.groups.scale = json_number_or(cfg, "routed_scaling_factor", 1.0, o);
  const int64_t E = s.experts, G = s.groups.n_group, K = s.groups.topk_group;
  if (E < 1 || s.inter < 1 || s.shared_inter < 1)
    fail(o, ": n_routed_experts ", E, ", moe_intermediate_size ", s.inter, " and moe_shared_expert_intermediate_size ",
         s.shared_inter, " must be positive");
  if (G < 1 || G > ops::kMaxRouterGroups || E % G != 0 || E / G < 2)
    fail(o, ": n_group ", G, " must divide n_routed_experts ", E, " into groups of at least 2 experts (at most ",
         ops::kMaxRouterGroups, " groups)");
  if (K < 1 || K > G) fail(o, ": topk_group ", K, " must be between 1 and n_group ", G);
  if (s.top_k < 1 || s.top_k > K * (E / G))
    fail(o, ": num_experts_per_tok ", s.top_k, " must be between 1 and the ", K * (E / G),
         " experts of the topk_group kept groups");
  return s;
}

}  // namespace

HybridModel load_nemotron_h(const Checkpoint& ck, const LoadOptions& options) {
  const Json& cfg = ck.config();
  const std::string o = ck.config_path();
  hf_check_architecture(cfg, {"NemotronHForCausalLM"}, o);
  const std::string act = cfg.contains("mlp_hidden_act") ? json_string(cfg, "mlp_hidden_act", o) : "relu2";
  if (act != "relu2") fail(o, ": mlp_hidden_act \"", act, "\" is not supported (only relu2)");
  const int64_t hidden = json_int(cfg, "hidden_size", o);
  const auto [heads, kv_heads] = hf_attention_heads(cfg, o);
  const int64_t head_dim = int_of(cfg, "head_dim", "attention_head_dim", hidden / heads, o);
  const int64_t inter = json_int_or(cfg, "intermediate_size", 0, o);
  const double eps = json_number_or(cfg, "layer_norm_epsilon", 1e-5, o);
  const std::vector<LayerMixer> labels = layer_labels(cfg, o);

  Mamba2Shape mamba{};
  mamba.hidden = hidden;
  mamba.heads = json_int(cfg, "mamba_num_heads", o);
  mamba.head_dim = json_int(cfg, "mamba_head_dim", o);
  mamba.d_state = json_int(cfg, "ssm_state_size", o);
  mamba.groups = int_of(cfg, "n_groups", "mamba_n_groups", 1, o);
  mamba.conv_k = int_of(cfg, "conv_kernel", "mamba_d_conv", 4, o);
  mamba.conv_bias = json_bool_or(cfg, "use_conv_bias", json_bool_or(cfg, "mamba_conv_bias", true, o), o);
  mamba.in_bias = mamba.out_bias = json_bool_or(cfg, "use_bias", false, o);
  mamba.gate_order = ops::GateOrder::GateThenNorm;
  mamba.eps = eps;
  const int64_t d = mamba.heads * mamba.head_dim;
  mamba.norm_group = mamba.groups > 0 ? d / mamba.groups : 0;
  std::tie(mamba.dt_min, mamba.dt_max) =
      hf_time_step_limit(cfg, cfg.contains("time_step_limit") ? "time_step_limit" : "mamba_dt_limit", o);
  check_mamba2_shape(mamba, d, o);
  const AttentionShape attention{hidden, heads, kv_heads, head_dim, 0, json_bool_or(cfg, "attention_bias", false, o),
                                 0.0, 1.0 / std::sqrt(static_cast<double>(head_dim))};
  const bool mlp_bias = json_bool_or(cfg, "mlp_bias", false, o);

  HybridModel model = hybrid_model_shell(cfg, cfg, o, hidden, json_int(cfg, "vocab_size", o), eps);
  WeightLoader wl(ck, model, options);
  model.embed = wl.get("backbone.embeddings.weight", {model.vocab, hidden});
  for (int64_t l = 0; l < static_cast<int64_t>(labels.size()); ++l) {
    const std::string p = "backbone.layers." + std::to_string(l) + ".";
    const std::string m = p + "mixer.";
    const LayerMixer kind = layer_mixer(wl, l,
                                        {{LayerMixer::Mamba2, m + "A_log"},
                                         {LayerMixer::Attention, m + "q_proj.weight"},
                                         {LayerMixer::Mlp, m + "up_proj.weight"},
                                         {LayerMixer::Moe, m + "gate.weight"}},
                                        labels[l], o);
    Block blk;
    const Tensor norm = wl.get(p + "norm.weight", {hidden});
    if (kind == LayerMixer::Mamba2) {
      blk.mix_norm = norm;
      blk.mixers.emplace_back(load_mamba2_mixer(wl, m, mamba));
      blk.recurrent_slot = static_cast<int>(model.recurrent.size());
      model.recurrent.push_back({static_cast<int>(l), "mamba2", {mamba.heads, mamba.head_dim, mamba.d_state}});
      model.layer_kinds.push_back("mamba2");
    } else if (kind == LayerMixer::Attention) {
      blk.mix_norm = norm;
      blk.mixers.emplace_back(load_plain_attention(wl, m, attention));
      model.layer_kinds.push_back("full_attention");
    } else if (kind == LayerMixer::Mlp) {
      if (inter <= 0) fail(o, ": intermediate_size must be positive for MLP layers, got ", inter);
      blk.mlp_norm = norm;
      blk.mlp_act = MlpActivation::ReluSquared;
      blk.gate_up = make_linear(wl.get(m + "up_proj.weight", {inter, hidden}), wl.get_if(mlp_bias, m + "up_proj.bias", {inter}));
      blk.down = make_linear(wl.get(m + "down_proj.weight", {hidden, inter}), wl.get_if(mlp_bias, m + "down_proj.bias", {hidden}));
      model.layer_kinds.push_back("mlp");
    } else {
      const NemotronMoeShape ms = moe_shape(cfg, o);
      blk.mlp_norm = norm;
      blk.mlp_act = MlpActivation::ReluSquared;
      const std::string se = m + "shared_experts.";
      const int64_t S = ms.shared_inter;
      blk.gate_up = make_linear(wl.get(se + "up_proj.weight", {S, hidden}), wl.get_if(mlp_bias, se + "up_proj.bias", {S}));
      blk.down = make_linear(wl.get(se + "down_proj.weight", {hidden, S}),
                             wl.get_if(mlp_bias, se + "down_proj.bias", {hidden}));
      SparseMoe moe;
      moe.top_k = ms.top_k;
      moe.normalize = ms.normalize;
      moe.groups = ms.groups;
      moe.router = make_linear(wl.get(m + "gate.weight", {ms.experts, hidden}));
      moe.router.precise = true;  // as Qwen's: keeps the choice of experts that of an exact computation
      moe.correction_bias = wl.get(m + "gate.e_score_correction_bias", {ms.experts});
      moe.experts = load_experts(wl, m + "experts.", ms.experts, ms.inter, hidden, /*gated=*/false);
      moe.expert_act = MlpActivation::ReluSquared;
      blk.moe = std::move(moe);
      model.layer_kinds.push_back("moe");
    }
    model.blocks.push_back(std::move(blk));
  }
  model.final_norm = wl.get("backbone.norm_f.weight", {hidden});
  // transformers' NemotronHForCausalLM ties nothing (_tied_weights_keys is empty): its lm_head is
  // always its own weight, whatever tie_word_embeddings says.
  attach_lm_head(wl, model, /*tied=*/false);
  return model;
}

}  // namespace s0
