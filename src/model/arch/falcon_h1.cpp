// Falcon-H1 (model_type falcon_h1): every layer runs Mamba-2 and attention in parallel on the same
// normalised input and adds both to the residual stream. All muP multipliers are folded into the
// projection weights here (embedding and LM-head multipliers stay scalars: those weights may be
// shared), so the forward is the family-neutral one.
#include <cmath>
#include <tuple>

#include "core/error.h"
#include "model/arch/hf_config.h"
#include "model/arch/hybrid_layers.h"
#include "model/arch/registry.h"
#include "model/arch/weight_loader.h"

namespace s0 {

namespace {

struct FalconConfig {
  int64_t hidden, inter, vocab, layers, heads, kv_heads, head_dim;
  int64_t d_ssm, m_heads, m_head_dim, groups, d_state, conv_k;
  bool conv_bias, proj_bias, projectors_bias, attention_bias, mlp_bias, mamba_norm, norm_before_gate;
  double eps, theta;
  double embedding_mult, lm_head_mult, key_mult, attn_in_mult, attn_out_mult, ssm_in_mult, ssm_out_mult;
  double mlp_gate_mult, mlp_down_mult;
  double ssm_mult[5];
  double dt_min, dt_max;
};

FalconConfig read_config(const Json& c, const std::string& o) {
  FalconConfig f{};
  f.hidden = json_int(c, "hidden_size", o);
  f.inter = json_int(c, "intermediate_size", o);
  f.vocab = json_int(c, "vocab_size", o);
  f.layers = json_int(c, "num_hidden_layers", o);
  f.heads = json_int(c, "num_attention_heads", o);
  f.kv_heads = json_int_or(c, "num_key_value_heads", f.heads, o);
  if (f.heads <= 0 || f.kv_heads <= 0 || f.heads % f.kv_heads != 0)
    fail(o, ": num_attention_heads ", f.heads, " is not a positive multiple of num_key_value_heads ", f.kv_heads);
  f.head_dim = json_int_or(c, "head_dim", f.hidden / f.heads, o);
  f.m_heads = json_int(c, "mamba_n_heads", o);
  const int64_t expand = json_int_or(c, "mamba_expand", 2, o);
  f.d_ssm = json_int_or(c, "mamba_d_ssm", expand * f.hidden, o);
  // mamba_d_head may be the string "auto": d_ssm / n_heads.
  if (c.contains("mamba_d_head") && c["mamba_d_head"].is_string()) {
    if (c["mamba_d_head"] != "auto") fail(o, ": mamba_d_head must be an integer or \"auto\"");
    f.m_head_dim = f.d_ssm / f.m_heads;
  } else {
    f.m_head_dim = json_int_or(c, "mamba_d_head", f.d_ssm / f.m_heads, o);
  }
  if (f.m_heads * f.m_head_dim != f.d_ssm)
    fail(o, ": mamba_n_heads ", f.m_heads, " x mamba_d_head ", f.m_head_dim, " != mamba_d_ssm ", f.d_ssm);
  f.groups = json_int_or(c, "mamba_n_groups", 1, o);
  if (f.groups <= 0 || f.m_heads % f.groups != 0)
    fail(o, ": mamba_n_heads ", f.m_heads, " is not a multiple of mamba_n_groups ", f.groups);
  f.d_state = json_int(c, "mamba_d_state", o);
  f.conv_k = json_int(c, "mamba_d_conv", o);
  for (auto [name, v] : {std::pair{"hidden_size", f.hidden}, {"intermediate_size", f.inter}, {"vocab_size", f.vocab},
                         {"num_hidden_layers", f.layers}, {"head_dim", f.head_dim}, {"mamba_d_state", f.d_state},
                         {"mamba_d_conv", f.conv_k}})
    if (v <= 0) fail(o, ": ", name, " must be positive, got ", v);
  f.conv_bias = json_bool_or(c, "mamba_conv_bias", true, o);
  f.proj_bias = json_bool_or(c, "mamba_proj_bias", false, o);
  f.projectors_bias = json_bool_or(c, "projectors_bias", false, o);
  f.attention_bias = json_bool_or(c, "attention_bias", false, o);
  f.mlp_bias = json_bool_or(c, "mlp_bias", false, o);
  f.mamba_norm = json_bool_or(c, "mamba_rms_norm", false, o);
  f.norm_before_gate = json_bool_or(c, "mamba_norm_before_gate", true, o);
  f.eps = json_number_or(c, "rms_norm_eps", 1e-5, o);
  f.theta = hf_rope_theta(c, o);
  f.embedding_mult = json_number_or(c, "embedding_multiplier", 1.0, o);
  f.lm_head_mult = json_number_or(c, "lm_head_multiplier", 1.0, o);
  f.key_mult = json_number_or(c, "key_multiplier", 1.0, o);
  f.attn_in_mult = json_number_or(c, "attention_in_multiplier", 1.0, o);
  f.attn_out_mult = json_number_or(c, "attention_out_multiplier", 1.0, o);
  f.ssm_in_mult = json_number_or(c, "ssm_in_multiplier", 1.0, o);
  f.ssm_out_mult = json_number_or(c, "ssm_out_multiplier", 1.0, o);
  f.mlp_gate_mult = f.mlp_down_mult = 1.0;
  if (c.contains("mlp_multipliers") && !c["mlp_multipliers"].is_null()) {
    auto m = hf_number_list(c, "mlp_multipliers", 2, o);
    f.mlp_gate_mult = m[0];
    f.mlp_down_mult = m[1];
  }
  for (double& m : f.ssm_mult) m = 1.0;
  if (c.contains("ssm_multipliers") && !c["ssm_multipliers"].is_null()) {
    auto m = hf_number_list(c, "ssm_multipliers", 5, o);
    for (int k = 0; k < 5; ++k) f.ssm_mult[k] = m[k];
  }
  std::tie(f.dt_min, f.dt_max) = hf_time_step_limit(c, "time_step_limit", o);
  return f;
}

Mamba2Mixer load_mamba(WeightLoader& wl, const std::string& p, const FalconConfig& f) {
  const ops::GateOrder order = !f.mamba_norm          ? ops::GateOrder::GateOnly
                               : f.norm_before_gate ? ops::GateOrder::NormThenGate
                                                    : ops::GateOrder::GateThenNorm;
  Mamba2Mixer m = load_mamba2_mixer(wl, p,
                                    {f.hidden, f.m_heads, f.m_head_dim, f.d_state, f.groups, f.conv_k, f.proj_bias,
                                     f.projectors_bias, f.conv_bias, order, f.d_ssm / f.groups, f.eps, f.dt_min,
                                     f.dt_max});
  // zxbcdt = ((x * ssm_in) W^T + b) * mup, mup per block z | x | B | C | dt.
  const int64_t d = f.d_ssm, gn = f.groups * f.d_state;
  const int64_t bounds[6] = {0, d, 2 * d, 2 * d + gn, 2 * d + 2 * gn, m.in_proj.out};
  for (int k = 0; k < 5; ++k) {
    scale_rows(m.in_proj.w, bounds[k], bounds[k + 1], static_cast<float>(f.ssm_mult[k] * f.ssm_in_mult));
    if (!m.in_proj.b.empty()) scale_rows(m.in_proj.b, bounds[k], bounds[k + 1], static_cast<float>(f.ssm_mult[k]));
  }
  scale_all(m.out_proj.w, static_cast<float>(f.ssm_out_mult));
  scale_all(m.out_proj.b, static_cast<float>(f.ssm_out_mult));
  return m;
}

AttentionMixer load_attention(WeightLoader& wl, const std::string& p, const FalconConfig& f) {
  AttentionMixer m = load_plain_attention(
      wl, p,
      {f.hidden, f.heads, f.kv_heads, f.head_dim, f.head_dim, f.attention_bias, f.theta,
       1.0 / std::sqrt(static_cast<double>(f.head_dim))});
  // attention_in_multiplier scales the input (weights only); key_multiplier scales k (weight and
  // bias). in_proj rows: q, k, v.
  const int64_t q = f.heads * f.head_dim, kv = f.kv_heads * f.head_dim;
  scale_all(m.in_proj.w, static_cast<float>(f.attn_in_mult));
  scale_rows(m.in_proj.w, q, q + kv, static_cast<float>(f.key_mult));
  if (!m.in_proj.b.empty()) scale_rows(m.in_proj.b, q, q + kv, static_cast<float>(f.key_mult));
  scale_all(m.out_proj.w, static_cast<float>(f.attn_out_mult));
  scale_all(m.out_proj.b, static_cast<float>(f.attn_out_mult));
  return m;
}

}  // namespace

HybridModel load_falcon_h1(const Checkpoint& ck, const LoadOptions& options) {
  const Json& cfg = ck.config();
  const std::string o = ck.config_path();
  hf_check_architecture(cfg, {"FalconH1ForCausalLM"}, o);
  hf_check_silu(cfg, o);
  const FalconConfig f = read_config(cfg, o);

  HybridModel model = hybrid_model_shell(cfg, cfg, o, f.hidden, f.vocab, f.eps);
  model.embed_scale = static_cast<float>(f.embedding_mult);
  model.logit_scale = static_cast<float>(f.lm_head_mult);

  WeightLoader wl(ck, model, options);
  model.embed = wl.get("model.embed_tokens.weight", {f.vocab, f.hidden});
  for (int64_t l = 0; l < f.layers; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    Block blk;
    blk.mix_norm = wl.get(p + "input_layernorm.weight", {f.hidden});
    blk.mlp_norm = wl.get(p + "pre_ff_layernorm.weight", {f.hidden});
    blk.mixers.emplace_back(load_mamba(wl, p + "mamba.", f));
    blk.mixers.emplace_back(load_attention(wl, p + "self_attn.", f));
    blk.recurrent_slot = static_cast<int>(model.recurrent.size());
    model.recurrent.push_back({static_cast<int>(l), "mamba2", {f.m_heads, f.m_head_dim, f.d_state}});
    model.layer_kinds.push_back("mamba2+attention");
    const std::string mp = p + "feed_forward.";
    Tensor gate = wl.get(mp + "gate_proj.weight", {f.inter, f.hidden});
    Tensor gate_b = wl.get_if(f.mlp_bias, mp + "gate_proj.bias", {f.inter});
    scale_all(gate, static_cast<float>(f.mlp_gate_mult));
    scale_all(gate_b, static_cast<float>(f.mlp_gate_mult));
    Tensor up = wl.get(mp + "up_proj.weight", {f.inter, f.hidden});
    Tensor up_b = wl.get_if(f.mlp_bias, mp + "up_proj.bias", {f.inter});
    blk.gate_up = make_linear(concat_rows({gate, up}), f.mlp_bias ? concat_rows({gate_b, up_b}) : Tensor());
    Tensor down = wl.get(mp + "down_proj.weight", {f.hidden, f.inter});
    Tensor down_b = wl.get_if(f.mlp_bias, mp + "down_proj.bias", {f.hidden});
    scale_all(down, static_cast<float>(f.mlp_down_mult));
    scale_all(down_b, static_cast<float>(f.mlp_down_mult));
    blk.down = make_linear(std::move(down), std::move(down_b));
    model.blocks.push_back(std::move(blk));
  }
  model.final_norm = wl.get("model.final_layernorm.weight", {f.hidden});
  attach_lm_head(wl, model, json_bool_or(cfg, "tie_word_embeddings", false, o));
  return model;
}

}  // namespace s0
