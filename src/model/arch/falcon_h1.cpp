// Falcon-H1 (model_type falcon_h1): every layer runs Mamba-2 and attention in parallel on the same
// normalised input and adds both to the residual stream. All muP multipliers are folded into the
// projection weights here (embedding and LM-head multipliers stay scalars: those weights may be
// shared), so the forward is the family-neutral one.
#include <cmath>
#include <limits>

#include "core/error.h"
#include "model/arch/hf_config.h"
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

std::vector<double> number_list(const Json& cfg, const char* key, size_t n, const std::string& origin) {
  const Json& v = json_field(cfg, key, origin);
  if (!v.is_array() || v.size() != n) fail(origin, ": ", key, " must be a list of ", n, " numbers");
  std::vector<double> out;
  for (const Json& x : v) {
    if (!x.is_number()) fail(origin, ": ", key, " holds a non-number ", x.dump());
    out.push_back(x.get<double>());
  }
  return out;
}

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
    auto m = number_list(c, "mlp_multipliers", 2, o);
    f.mlp_gate_mult = m[0];
    f.mlp_down_mult = m[1];
  }
  for (double& m : f.ssm_mult) m = 1.0;
  if (c.contains("ssm_multipliers") && !c["ssm_multipliers"].is_null()) {
    auto m = number_list(c, "ssm_multipliers", 5, o);
    for (int k = 0; k < 5; ++k) f.ssm_mult[k] = m[k];
  }
  f.dt_min = 0.0;
  f.dt_max = std::numeric_limits<double>::infinity();
  if (c.contains("time_step_limit") && !c["time_step_limit"].is_null()) {
    auto lim = number_list(c, "time_step_limit", 2, o);
    f.dt_min = lim[0];
    f.dt_max = lim[1];
  }
  return f;
}

Mamba2Mixer load_mamba(WeightLoader& wl, const std::string& p, const FalconConfig& f) {
  Mamba2Mixer m;
  m.n_heads = f.m_heads;
  m.head_dim = f.m_head_dim;
  m.d_state = f.d_state;
  m.n_groups = f.groups;
  m.conv_kernel = f.conv_k;
  m.dt_min = static_cast<float>(f.dt_min);
  m.dt_max = static_cast<float>(f.dt_max);
  m.norm_eps = static_cast<float>(f.eps);
  const int64_t d = f.d_ssm, gn = f.groups * f.d_state, C = m.conv_dim();
  const int64_t P = 2 * d + 2 * gn + f.m_heads;
  Tensor w = wl.get(p + "in_proj.weight", {P, f.hidden});
  Tensor b = wl.get_if(f.proj_bias, p + "in_proj.bias", {P});
  // zxbcdt = ((x * ssm_in) W^T + b) * mup, mup per block z | x | B | C | dt.
  const int64_t bounds[6] = {0, d, 2 * d, 2 * d + gn, 2 * d + 2 * gn, P};
  for (int k = 0; k < 5; ++k) {
    scale_rows(w, bounds[k], bounds[k + 1], static_cast<float>(f.ssm_mult[k] * f.ssm_in_mult));
    if (!b.empty()) scale_rows(b, bounds[k], bounds[k + 1], static_cast<float>(f.ssm_mult[k]));
  }
  m.in_proj = make_linear(std::move(w), std::move(b));
  m.in_proj.precise = true;
  m.conv_w = conv_weight(wl.get(p + "conv1d.weight", {C, 1, f.conv_k}));
  m.conv_b = wl.get_if(f.conv_bias, p + "conv1d.bias", {C});
  m.dt_bias = wl.get(p + "dt_bias", {f.m_heads});
  m.neg_A = wl.get(p + "A_log", {f.m_heads});
  for (int64_t i = 0; i < f.m_heads; ++i) m.neg_A.f32_mut()[i] = -std::exp(m.neg_A.f32()[i]);
  m.D = wl.get(p + "D", {f.m_heads});
  if (f.mamba_norm) {
    m.norm_w = wl.get(p + "norm.weight", {d});
    m.gate_order = f.norm_before_gate ? ops::GateOrder::NormThenGate : ops::GateOrder::GateThenNorm;
  }
  Tensor ow = wl.get(p + "out_proj.weight", {f.hidden, d});
  Tensor ob = wl.get_if(f.projectors_bias, p + "out_proj.bias", {f.hidden});
  scale_all(ow, static_cast<float>(f.ssm_out_mult));
  scale_all(ob, static_cast<float>(f.ssm_out_mult));
  m.out_proj = make_linear(std::move(ow), std::move(ob));
  return m;
}

AttentionMixer load_attention(WeightLoader& wl, const std::string& p, const FalconConfig& f) {
  AttentionMixer m;
  m.n_heads = f.heads;
  m.n_kv_heads = f.kv_heads;
  m.head_dim = f.head_dim;
  m.rotary_dim = f.head_dim;
  m.rope_theta = f.theta;
  m.scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(f.head_dim)));
  const int64_t q = f.heads * f.head_dim, kv = f.kv_heads * f.head_dim;
  const bool ab = f.attention_bias;
  Tensor wq = wl.get(p + "q_proj.weight", {q, f.hidden}), bq = wl.get_if(ab, p + "q_proj.bias", {q});
  Tensor wk = wl.get(p + "k_proj.weight", {kv, f.hidden}), bk = wl.get_if(ab, p + "k_proj.bias", {kv});
  Tensor wv = wl.get(p + "v_proj.weight", {kv, f.hidden}), bv = wl.get_if(ab, p + "v_proj.bias", {kv});
  // attention_in_multiplier scales the input (weights only); key_multiplier scales k (weight and bias).
  for (Tensor* t : {&wq, &wk, &wv}) scale_all(*t, static_cast<float>(f.attn_in_mult));
  scale_all(wk, static_cast<float>(f.key_mult));
  scale_all(bk, static_cast<float>(f.key_mult));
  m.in_proj = make_linear(concat_rows({wq, wk, wv}), ab ? concat_rows({bq, bk, bv}) : Tensor());
  Tensor wo = wl.get(p + "o_proj.weight", {f.hidden, q}), bo = wl.get_if(ab, p + "o_proj.bias", {f.hidden});
  scale_all(wo, static_cast<float>(f.attn_out_mult));
  scale_all(bo, static_cast<float>(f.attn_out_mult));
  m.out_proj = make_linear(std::move(wo), std::move(bo));
  return m;
}

}  // namespace

HybridModel load_falcon_h1(const Checkpoint& ck, const LoadOptions& options) {
  const Json& cfg = ck.config();
  const std::string o = ck.config_path();
  hf_check_architecture(cfg, {"FalconH1ForCausalLM"}, o);
  hf_check_silu(cfg, o);
  const FalconConfig f = read_config(cfg, o);

  HybridModel model;
  model.family = "falcon_h1";
  model.architecture = cfg.contains("architectures") ? cfg["architectures"][0].get<std::string>() : model.family;
  model.hidden = f.hidden;
  model.vocab = f.vocab;
  model.max_positions = json_int_or(cfg, "max_position_embeddings", 0, o);
  model.norm_eps = static_cast<float>(f.eps);
  model.eos_token_ids = hf_eos_ids(cfg, o);
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
  model.tied_embeddings = json_bool_or(cfg, "tie_word_embeddings", false, o);
  model.lm_head = make_linear(model.tied_embeddings ? model.embed : wl.get("lm_head.weight", {f.vocab, f.hidden}));
  return model;
}

}  // namespace s0
