// Qwen3.5 (model_type qwen3_5 with a text_config, or qwen3_5_text): GatedDeltaNet layers and gated
// full attention in any layer_types pattern, zero-centred (1 + w) RMSNorms, SwiGLU MLPs.
// Weights live under model.language_model. (multimodal layout; model.visual.* and mtp.* are
// ignored) or model.
#include <cmath>
#include <cstring>

#include "core/error.h"
#include "model/arch/hf_config.h"
#include "model/arch/registry.h"
#include "model/arch/weight_loader.h"

namespace s0 {

namespace {

struct QwenDims {
  int64_t hidden, inter, vocab, layers;
  int64_t heads, kv_heads, head_dim;
  int64_t nk, nv, dk, dv, conv_k;
  double eps;
};

// q_proj rows come per head as [q (D) | gate (D)]; the engine wants all q rows, then all gate rows.
// Moves bytes, so it serves float32 and bf16 weights alike.
Tensor split_query_gate(const Tensor& w, int64_t H, int64_t D) {
  const size_t block = (w.rank() == 1 ? 1 : static_cast<size_t>(w.dim(1))) * static_cast<size_t>(D) * dtype_size(w.dtype());
  Tensor out = Tensor::empty(w.shape(), w.dtype());
  const auto* src = static_cast<const char*>(w.raw());
  auto* dst = static_cast<char*>(out.raw_mut());
  for (size_t h = 0; h < static_cast<size_t>(H); ++h) {
    std::memcpy(dst + h * block, src + 2 * h * block, block);
    std::memcpy(dst + (static_cast<size_t>(H) + h) * block, src + (2 * h + 1) * block, block);
  }
  return out;
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

GatedDeltaMixer load_gated_delta(WeightLoader& wl, const std::string& p, const QwenDims& d) {
  GatedDeltaMixer m;
  m.n_k_heads = d.nk;
  m.n_v_heads = d.nv;
  m.k_dim = d.dk;
  m.v_dim = d.dv;
  m.conv_kernel = d.conv_k;
  m.norm_eps = static_cast<float>(d.eps);
  const int64_t C = m.conv_dim(), vd = d.nv * d.dv;
  m.in_proj = make_linear(concat_rows({wl.get(p + "in_proj_qkv.weight", {C, d.hidden}),
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

HybridModel load_qwen3_5(const Checkpoint& ck, const LoadOptions& options) {
  const Json& top = ck.config();
  const bool nested = top.contains("text_config");
  const Json& cfg = nested ? top["text_config"] : top;
  const std::string origin = ck.config_path() + (nested ? " text_config" : "");
  hf_check_architecture(top, {"Qwen3_5ForCausalLM", "Qwen3_5ForConditionalGeneration"}, ck.config_path());
  if (!cfg.is_object()) fail(origin, ": expected an object");
  hf_check_silu(cfg, origin);

  auto i = [&](const char* k) { return json_int(cfg, k, origin); };
  QwenDims d{};
  d.hidden = i("hidden_size");
  d.inter = i("intermediate_size");
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
  for (auto [name, v] : {std::pair{"hidden_size", d.hidden}, {"intermediate_size", d.inter}, {"vocab_size", d.vocab},
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

  HybridModel model;
  model.family = json_string(top, "model_type", ck.config_path());
  model.architecture = top.contains("architectures") ? top["architectures"][0].get<std::string>() : model.family;
  model.hidden = d.hidden;
  model.vocab = d.vocab;
  model.max_positions = json_int_or(cfg, "max_position_embeddings", 0, origin);
  model.norm_eps = static_cast<float>(d.eps);
  model.eos_token_ids = hf_eos_ids(cfg, origin);
  if (model.eos_token_ids.empty()) model.eos_token_ids = hf_eos_ids(top, ck.config_path());
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
      blk.mixers.emplace_back(load_gated_delta(wl, p + "linear_attn.", d));
      blk.recurrent_slot = static_cast<int>(model.recurrent.size());
      model.recurrent.push_back({static_cast<int>(l), "gated_delta_net", {d.nv, d.dk, d.dv}});
    } else {
      blk.mixers.emplace_back(load_attention(wl, p + "self_attn.", d, attention_bias, theta, partial));
    }
    blk.gate_up = make_linear(concat_rows({wl.get(p + "mlp.gate_proj.weight", {d.inter, d.hidden}),
                                           wl.get(p + "mlp.up_proj.weight", {d.inter, d.hidden})}));
    blk.down = make_linear(wl.get(p + "mlp.down_proj.weight", {d.hidden, d.inter}));
    model.blocks.push_back(std::move(blk));
  }
  model.final_norm = plus_one(wl.get(prefix + "norm.weight", {d.hidden}));
  model.tied_embeddings = json_bool_or(top, "tie_word_embeddings", json_bool_or(cfg, "tie_word_embeddings", false, origin),
                                       ck.config_path());
  model.lm_head = make_linear(model.tied_embeddings ? model.embed : wl.get("lm_head.weight", {d.vocab, d.hidden}));
  return model;
}

}  // namespace s0
