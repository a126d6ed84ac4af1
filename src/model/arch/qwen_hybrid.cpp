// The Qwen GatedDeltaNet hybrids' shared skeleton (qwen_hybrid.h): GatedDeltaNet layers and gated
// full attention in any layer_types pattern, zero-centred (1 + w) RMSNorms. Weights live under
// model.language_model. (multimodal layout; model.visual.* and mtp.* are ignored) or model.
#include "model/arch/qwen_hybrid.h"

#include <cmath>

#include "core/error.h"
#include "model/arch/hf_config.h"
#include "model/arch/hybrid_layers.h"
#include "model/arch/moe_weights.h"

namespace s0 {

namespace {

// q_proj rows come per head as [q (D) | gate (D)]; the engine wants all q rows, then all gate rows.
// pick_rows moves bytes, so this serves float32 and bf16 weights alike.
Tensor split_query_gate(const Tensor& w, int64_t H, int64_t D) {
  std::vector<int64_t> rows;
  for (int64_t part = 0; part < 2; ++part)
    for (int64_t h = 0; h < H; ++h)
      for (int64_t i = 0; i < D; ++i) rows.push_back((2 * h + part) * D + i);
  return pick_rows(w, rows);
}

AttentionMixer load_attention(WeightLoader& wl, const std::string& p, const QwenDims& d, bool bias, double theta,
                              double partial) {
  AttentionMixer m;
  m.n_heads = d.heads;
  m.n_kv_heads = d.kv_heads;
  m.head_dim = d.head_dim;
  m.rotary_dim = static_cast<int64_t>(static_cast<double>(d.head_dim) * partial);
  m.rope_theta = theta;
  m.scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(d.head_dim)));
  m.output_gate = true;
  m.norm_eps = static_cast<float>(d.eps);
  const int64_t q = d.heads * d.head_dim, kv = d.kv_heads * d.head_dim;
  Tensor wq = split_query_gate(wl.get(p + "q_proj.weight", {2 * q, d.hidden}), d.heads, d.head_dim);
  Tensor wk = wl.get(p + "k_proj.weight", {kv, d.hidden});
  Tensor wv = wl.get(p + "v_proj.weight", {kv, d.hidden});
  Tensor b;
  if (bias) {
    b = concat_rows({split_query_gate(wl.get(p + "q_proj.bias", {2 * q}), d.heads, d.head_dim),
                     wl.get(p + "k_proj.bias", {kv}), wl.get(p + "v_proj.bias", {kv})});
  }
  m.in_proj = make_linear(concat_rows({wq, wk, wv}), b);
  m.out_proj = make_linear(wl.get(p + "o_proj.weight", {d.hidden, q}), wl.get_if(bias, p + "o_proj.bias", {d.hidden}));
  m.q_norm = plus_one(wl.get(p + "q_norm.weight", {d.head_dim}));
  m.k_norm = plus_one(wl.get(p + "k_norm.weight", {d.head_dim}));
  return m;
}

// Qwen3-Next's fused projections, per key head g (r = nv / nk value heads each): in_proj_qkvz rows
// [q (dk) | k (dk) | v (r dv) | z (r dv)], in_proj_ba rows [b (r) | a (r)]. The engine's order is
// every q, every k, every v, every z, every b, every a (value head g r + j of group g).
Tensor fused_gdn_projection(WeightLoader& wl, const std::string& p, const QwenDims& d) {
  const int64_t r = d.nv / d.nk, group = 2 * d.dk + 2 * r * d.dv;
  const Tensor qkvz = wl.get(p + "in_proj_qkvz.weight", {d.nk * group, d.hidden});
  const Tensor ba = wl.get(p + "in_proj_ba.weight", {d.nk * 2 * r, d.hidden});
  std::vector<int64_t> rows;  // rows of qkvz, then of ba (offset by qkvz's)
  auto block = [&](int64_t offset, int64_t len, int64_t stride, int64_t base) {
    for (int64_t g = 0; g < d.nk; ++g)
      for (int64_t i = 0; i < len; ++i) rows.push_back(base + g * stride + offset + i);
  };
  block(0, d.dk, group, 0);                       // q
  block(d.dk, d.dk, group, 0);                    // k
  block(2 * d.dk, r * d.dv, group, 0);            // v
  block(2 * d.dk + r * d.dv, r * d.dv, group, 0); // z
  const int64_t base = qkvz.dim(0);
  block(0, r, 2 * r, base);  // b
  block(r, r, 2 * r, base);  // a
  return pick_rows(concat_rows({qkvz, ba}), rows);
}

GatedDeltaMixer load_gated_delta(WeightLoader& wl, const std::string& p, const QwenDims& d, QwenGdnLayout layout) {
  GatedDeltaMixer m;
  m.n_k_heads = d.nk;
  m.n_v_heads = d.nv;
  m.k_dim = d.dk;
  m.v_dim = d.dv;
  m.conv_kernel = d.conv_k;
  m.norm_eps = static_cast<float>(d.eps);
  const int64_t C = m.conv_dim(), vd = d.nv * d.dv;
  m.in_proj = make_linear(layout == QwenGdnLayout::Fused
                              ? fused_gdn_projection(wl, p, d)
                              : concat_rows({wl.get(p + "in_proj_qkv.weight", {C, d.hidden}),
                                             wl.get(p + "in_proj_z.weight", {vd, d.hidden}),
                                             wl.get(p + "in_proj_b.weight", {d.nv, d.hidden}),
                                             wl.get(p + "in_proj_a.weight", {d.nv, d.hidden})}));
  m.in_proj.precise = true;
  m.conv_w = conv_weight(wl.get(p + "conv1d.weight", {C, 1, d.conv_k}));
  m.neg_A = wl.get(p + "A_log", {d.nv});
  for (int64_t i = 0; i < d.nv; ++i) m.neg_A.f32_mut()[i] = -std::exp(m.neg_A.f32()[i]);
  m.dt_bias = wl.get(p + "dt_bias", {d.nv});
  m.norm_w = tile(wl.get(p + "norm.weight", {d.dv}), d.nv);
  m.out_proj = make_linear(wl.get(p + "out_proj.weight", {d.hidden, vd}));
  return m;
}

}  // namespace

void load_qwen_sparse_moe(WeightLoader& wl, const std::string& p, const QwenDims& d, const Json& cfg,
                          const std::string& origin, bool normalize, Block& blk) {
  const int64_t E = json_int(cfg, "num_experts", origin), k = json_int(cfg, "num_experts_per_tok", origin);
  const int64_t I = json_int(cfg, "moe_intermediate_size", origin);
  const int64_t shared = json_int_or(cfg, "shared_expert_intermediate_size", 0, origin);
  if (E <= 0 || I <= 0) fail(origin, ": num_experts ", E, " and moe_intermediate_size ", I, " must be positive");
  if (k < 1 || k > E) fail(origin, ": num_experts_per_tok ", k, " must be between 1 and num_experts ", E);
  SparseMoe moe;
  moe.top_k = k;
  moe.normalize = normalize;
  moe.router = make_linear(wl.get(p + "gate.weight", {E, d.hidden}));
  // Routing is discontinuous: accumulating the router logits in double keeps the choice of
  // experts that of an exact computation except at near-ties.
  moe.router.precise = true;
  moe.experts = load_experts(wl, p + "experts.", E, I, d.hidden);
  if (shared > 0) {
    load_swiglu_mlp(wl, p + "shared_expert.", shared, d.hidden, blk);
    moe.shared_gate = make_linear(wl.get(p + "shared_expert_gate.weight", {1, d.hidden}));
  }
  blk.moe = std::move(moe);
}

HybridModel load_qwen_hybrid(const Checkpoint& ck, const LoadOptions& options, const QwenFamily& family) {
  const Json& top = ck.config();
  const bool nested = top.contains("text_config");
  const Json& cfg = nested ? top["text_config"] : top;
  const std::string origin = ck.config_path() + (nested ? " text_config" : "");
  hf_check_architecture(top, family.architectures, ck.config_path());
  if (!cfg.is_object()) fail(origin, ": expected an object");
  hf_check_silu(cfg, origin);

  auto i = [&](const char* k) { return json_int(cfg, k, origin); };
  QwenDims d{};
  d.hidden = i("hidden_size");
  d.inter = json_int_or(cfg, "intermediate_size", 0, origin);  // checked where a dense MLP uses it
  d.vocab = i("vocab_size");
  d.layers = i("num_hidden_layers");
  d.heads = i("num_attention_heads");
  d.kv_heads = i("num_key_value_heads");
  d.head_dim = json_int_or(cfg, "head_dim", d.hidden / std::max<int64_t>(d.heads, 1), origin);
  d.nk = i("linear_num_key_heads");
  d.nv = i("linear_num_value_heads");
  d.dk = i("linear_key_head_dim");
  d.dv = i("linear_value_head_dim");
  d.conv_k = i("linear_conv_kernel_dim");
  d.eps = json_number_or(cfg, "rms_norm_eps", 1e-6, origin);
  for (auto [name, v] : {std::pair{"hidden_size", d.hidden}, {"vocab_size", d.vocab},
                         {"num_hidden_layers", d.layers}, {"num_attention_heads", d.heads},
                         {"num_key_value_heads", d.kv_heads}, {"head_dim", d.head_dim},
                         {"linear_num_key_heads", d.nk}, {"linear_num_value_heads", d.nv},
                         {"linear_key_head_dim", d.dk}, {"linear_value_head_dim", d.dv},
                         {"linear_conv_kernel_dim", d.conv_k}})
    if (v <= 0) fail(origin, ": ", name, " must be positive, got ", v);
  if (d.nv % d.nk != 0)
    fail(origin, ": linear_num_value_heads ", d.nv, " is not a multiple of linear_num_key_heads ", d.nk);
  if (d.heads % d.kv_heads != 0)
    fail(origin, ": num_attention_heads ", d.heads, " is not a multiple of num_key_value_heads ", d.kv_heads);
  const double theta = hf_rope_theta(cfg, origin);
  const double partial = hf_partial_rotary_factor(cfg, origin);
  const int64_t rot = static_cast<int64_t>(static_cast<double>(d.head_dim) * partial);
  if (rot % 2 != 0 || rot <= 0 || rot > d.head_dim)
    fail(origin, ": partial_rotary_factor ", partial, " gives an invalid rotary dimension ", rot);

  std::vector<std::string> types;
  if (cfg.contains("layer_types") && !cfg["layer_types"].is_null()) {
    const Json& lt = cfg["layer_types"];
    if (!lt.is_array() || static_cast<int64_t>(lt.size()) != d.layers)
      fail(origin, ": layer_types must list num_hidden_layers (", d.layers, ") entries");
    for (const Json& t : lt) {
      if (!t.is_string() || (t != "linear_attention" && t != "full_attention"))
        fail(origin, ": layer_types entry ", t.dump(), " is neither \"linear_attention\" nor \"full_attention\"");
      types.push_back(t.get<std::string>());
    }
  } else {
    const int64_t every = json_int_or(cfg, "full_attention_interval", 4, origin);
    for (int64_t l = 0; l < d.layers; ++l)
      types.push_back((l + 1) % every == 0 ? "full_attention" : "linear_attention");
  }

  HybridModel model = hybrid_model_shell(top, cfg, origin, d.hidden, d.vocab, d.eps);
  model.layer_kinds = types;

  const std::string prefix = ck.has("model.language_model.embed_tokens.weight") ? "model.language_model." : "model.";
  WeightLoader wl(ck, model, options);
  model.embed = wl.get(prefix + "embed_tokens.weight", {d.vocab, d.hidden});
  const bool attention_bias = json_bool_or(cfg, "attention_bias", false, origin);
  for (int64_t l = 0; l < d.layers; ++l) {
    const std::string p = prefix + "layers." + std::to_string(l) + ".";
    Block blk;
    blk.mix_norm = plus_one(wl.get(p + "input_layernorm.weight", {d.hidden}));
    blk.mlp_norm = plus_one(wl.get(p + "post_attention_layernorm.weight", {d.hidden}));
    if (types[l] == "linear_attention") {
      blk.mixers.emplace_back(load_gated_delta(wl, p + "linear_attn.", d, family.gdn_layout));
      blk.recurrent_slot = static_cast<int>(model.recurrent.size());
      model.recurrent.push_back({static_cast<int>(l), "gated_delta_net", {d.nv, d.dk, d.dv}});
    } else {
      blk.mixers.emplace_back(load_attention(wl, p + "self_attn.", d, attention_bias, theta, partial));
    }
    family.ffn(wl, p, l, d, cfg, origin, blk);
    model.blocks.push_back(std::move(blk));
  }
  model.final_norm = plus_one(wl.get(prefix + "norm.weight", {d.hidden}));
  attach_lm_head(wl, model, json_bool_or(top, "tie_word_embeddings", json_bool_or(cfg, "tie_word_embeddings", false, origin),
                                         ck.config_path()));
  return model;
}

}  // namespace s0
