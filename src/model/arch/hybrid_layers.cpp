#include "model/arch/hybrid_layers.h"

#include <cmath>
#include <map>
#include <tuple>

#include "core/error.h"
#include "core/strings.h"
#include "model/arch/hf_config.h"

namespace s0 {

Mamba2Mixer load_mamba2_mixer(WeightLoader& wl, const std::string& p, const Mamba2Shape& s) {
  Mamba2Mixer m;
  m.n_heads = s.heads;
  m.head_dim = s.head_dim;
  m.d_state = s.d_state;
  m.n_groups = s.groups;
  m.conv_kernel = s.conv_k;
  m.dt_min = static_cast<float>(s.dt_min);
  m.dt_max = static_cast<float>(s.dt_max);
  m.norm_eps = static_cast<float>(s.eps);
  m.gate_order = s.gate_order;
  m.norm_group = s.norm_group;
  const int64_t d = m.d_ssm(), C = m.conv_dim(), P = 2 * d + 2 * s.groups * s.d_state + s.heads;
  m.in_proj = make_linear(wl.get(p + "in_proj.weight", {P, s.hidden}), wl.get_if(s.in_bias, p + "in_proj.bias", {P}));
  m.in_proj.precise = true;
  m.conv_w = conv_weight(wl.get(p + "conv1d.weight", {C, 1, s.conv_k}));
  m.conv_b = wl.get_if(s.conv_bias, p + "conv1d.bias", {C});
  m.dt_bias = wl.get(p + "dt_bias", {s.heads});
  m.neg_A = wl.get(p + "A_log", {s.heads});
  for (int64_t i = 0; i < s.heads; ++i) m.neg_A.f32_mut()[i] = -std::exp(m.neg_A.f32()[i]);
  m.D = wl.get(p + "D", {s.heads});
  if (s.gate_order != ops::GateOrder::GateOnly) m.norm_w = wl.get(p + "norm.weight", {d});
  m.out_proj = make_linear(wl.get(p + "out_proj.weight", {s.hidden, d}),
                           wl.get_if(s.out_bias, p + "out_proj.bias", {s.hidden}));
  return m;
}

AttentionMixer load_plain_attention(WeightLoader& wl, const std::string& p, const AttentionShape& s) {
  AttentionMixer m;
  m.n_heads = s.heads;
  m.n_kv_heads = s.kv_heads;
  m.head_dim = s.head_dim;
  m.rotary_dim = s.rotary_dim;
  m.rope_theta = s.rope_theta;
  m.scale = static_cast<float>(s.scale);
  const int64_t q = s.heads * s.head_dim, kv = s.kv_heads * s.head_dim;
  const Tensor wq = wl.get(p + "q_proj.weight", {q, s.hidden}), bq = wl.get_if(s.bias, p + "q_proj.bias", {q});
  const Tensor wk = wl.get(p + "k_proj.weight", {kv, s.hidden}), bk = wl.get_if(s.bias, p + "k_proj.bias", {kv});
  const Tensor wv = wl.get(p + "v_proj.weight", {kv, s.hidden}), bv = wl.get_if(s.bias, p + "v_proj.bias", {kv});
  m.in_proj = make_linear(concat_rows({wq, wk, wv}), s.bias ? concat_rows({bq, bk, bv}) : Tensor());
  m.out_proj = make_linear(wl.get(p + "o_proj.weight", {s.hidden, q}), wl.get_if(s.bias, p + "o_proj.bias", {s.hidden}));
  return m;
}

void check_mamba2_shape(const Mamba2Shape& s, int64_t d, const std::string& origin) {
  for (auto [name, v] : {std::pair{"heads", s.heads}, {"head dim", s.head_dim}, {"state size", s.d_state},
                         {"groups", s.groups}, {"conv kernel", s.conv_k}})
    if (v <= 0) fail(origin, ": Mamba-2 ", name, " must be positive, got ", v);
  if (s.heads * s.head_dim != d)
    fail(origin, ": Mamba-2 heads ", s.heads, " x head dim ", s.head_dim, " != its width ", d);
  if (s.heads % s.groups != 0) fail(origin, ": Mamba-2 heads ", s.heads, " is not a multiple of groups ", s.groups);
}

Mamba2Shape bamba_style_mamba2(const Json& c, const std::string& o, int64_t hidden, double eps) {
  Mamba2Shape s{};
  s.hidden = hidden;
  s.heads = json_int(c, "mamba_n_heads", o);
  const int64_t d = json_int_or(c, "mamba_expand", 2, o) * hidden;
  if (c.contains("mamba_d_head") && c["mamba_d_head"].is_string()) {
    if (c["mamba_d_head"] != "auto") fail(o, ": mamba_d_head must be an integer or \"auto\"");
    s.head_dim = s.heads > 0 ? d / s.heads : 0;
  } else {
    s.head_dim = json_int(c, "mamba_d_head", o);
  }
  s.d_state = json_int(c, "mamba_d_state", o);
  s.groups = json_int_or(c, "mamba_n_groups", 1, o);
  s.conv_k = json_int_or(c, "mamba_d_conv", 4, o);
  s.conv_bias = json_bool_or(c, "mamba_conv_bias", true, o);
  s.in_bias = s.out_bias = json_bool_or(c, "mamba_proj_bias", false, o);
  s.gate_order = ops::GateOrder::GateThenNorm;
  s.norm_group = d;
  s.eps = eps;
  std::tie(s.dt_min, s.dt_max) = hf_time_step_limit(c, "time_step_limit", o);
  check_mamba2_shape(s, d, o);
  return s;
}

const char* layer_mixer_name(LayerMixer k) {
  switch (k) {
    case LayerMixer::Mamba2: return "Mamba-2";
    case LayerMixer::Attention: return "attention";
    case LayerMixer::Mlp: return "MLP";
    case LayerMixer::Moe: return "MoE";
  }
  return "?";
}

LayerMixer layer_label(const std::string& name, const std::string& origin) {
  static const std::map<std::string, LayerMixer> names = {
      {"linear_attention", LayerMixer::Mamba2}, {"mamba", LayerMixer::Mamba2}, {"M", LayerMixer::Mamba2},
      {"full_attention", LayerMixer::Attention}, {"attention", LayerMixer::Attention}, {"*", LayerMixer::Attention},
      {"mlp", LayerMixer::Mlp}, {"-", LayerMixer::Mlp}, {"moe", LayerMixer::Moe}, {"E", LayerMixer::Moe}};
  auto it = names.find(name);
  if (it == names.end()) fail(origin, ": unknown layer type \"", name, "\"");
  return it->second;
}

LayerMixer layer_mixer(const WeightLoader& wl, int64_t l, const std::vector<std::pair<LayerMixer, std::string>>& markers,
                       std::optional<LayerMixer> label, const std::string& origin) {
  std::vector<LayerMixer> found;
  std::vector<std::string> looked;
  for (const auto& [kind, name] : markers) {
    if (wl.has(name)) found.push_back(kind);
    looked.push_back(name);
  }
  if (found.size() != 1)
    fail(origin, ": layer ", l, " has ", found.empty() ? "none" : "more than one", " of the tensors that mark its mixer (",
         join(looked, ", "), ")");
  if (label && *label != found[0])
    fail(origin, ": layer ", l, " is labelled ", layer_mixer_name(*label), " but its weights are ",
         layer_mixer_name(found[0]), "'s");
  return found[0];
}

HybridModel hybrid_model_shell(const Json& top, const Json& cfg, const std::string& origin, int64_t hidden,
                               int64_t vocab, double eps) {
  for (auto [name, v] : {std::pair{"hidden_size", hidden}, {"vocab_size", vocab}})
    if (v <= 0) fail(origin, ": ", name, " must be positive, got ", v);
  HybridModel model;
  model.family = json_string(top, "model_type", origin);
  model.architecture = top.contains("architectures") ? top["architectures"][0].get<std::string>() : model.family;
  model.hidden = hidden;
  model.vocab = vocab;
  model.max_positions = json_int_or(cfg, "max_position_embeddings", 0, origin);
  model.norm_eps = static_cast<float>(eps);
  model.eos_token_ids = hf_eos_ids(cfg, origin);
  if (model.eos_token_ids.empty() && &top != &cfg) model.eos_token_ids = hf_eos_ids(top, origin);
  return model;
}

void load_swiglu_mlp(WeightLoader& wl, const std::string& p, int64_t inter, int64_t hidden, Block& blk) {
  if (inter <= 0)
    fail(wl.config_path(), ": the MLP ", p, "* needs a positive width (intermediate_size), got ", inter);
  blk.gate_up = make_linear(concat_rows({wl.get(p + "gate_proj.weight", {inter, hidden}),
                                         wl.get(p + "up_proj.weight", {inter, hidden})}));
  blk.down = make_linear(wl.get(p + "down_proj.weight", {hidden, inter}));
}

void attach_lm_head(WeightLoader& wl, HybridModel& model, bool tied) {
  model.tied_embeddings = tied;
  model.lm_head = make_linear(tied ? model.embed : wl.get("lm_head.weight", {model.vocab, model.hidden}));
}

}  // namespace s0
