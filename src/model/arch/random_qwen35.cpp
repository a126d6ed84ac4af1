#include "model/arch/random_qwen35.h"

#include "model/arch/random_layers.h"

namespace s0 {

namespace {

Json config_of(const Qwen35Dims& d) {
  Json types = Json::array();
  for (int64_t i = 0; i < d.layers; ++i)
    types.push_back((i + 1) % d.full_attention_interval == 0 ? "full_attention" : "linear_attention");
  Json c = {{"model_type", d.experts > 0 ? "qwen3_5_moe_text" : "qwen3_5_text"},
          {"architectures", {d.experts > 0 ? "Qwen3_5MoeForCausalLM" : "Qwen3_5ForCausalLM"}},
          {"hidden_act", "silu"},
          {"rms_norm_eps", 1e-6},
          {"linear_conv_kernel_dim", d.conv_kernel},
          {"attention_bias", false},
          {"max_position_embeddings", d.max_positions},
          {"eos_token_id", d.eos_token_id},
          {"vocab_size", d.vocab},
          {"hidden_size", d.hidden},
          {"intermediate_size", d.intermediate},
          {"num_hidden_layers", d.layers},
          {"layer_types", types},
          {"num_attention_heads", d.heads},
          {"num_key_value_heads", d.kv_heads},
          {"head_dim", d.head_dim},
          {"linear_key_head_dim", d.linear_k_dim},
          {"linear_value_head_dim", d.linear_v_dim},
          {"linear_num_key_heads", d.linear_k_heads},
          {"linear_num_value_heads", d.linear_v_heads},
          {"tie_word_embeddings", d.tied},
          {"torch_dtype", d.dtype == DType::BF16 ? "bfloat16" : "float32"},
          {"rope_parameters", {{"rope_type", "default"}, {"rope_theta", 10000000.0}, {"partial_rotary_factor", d.partial_rotary}}}};
  if (d.experts > 0) {
    c["num_experts"] = d.experts;
    c["num_experts_per_tok"] = d.experts_per_token;
    c["moe_intermediate_size"] = d.moe_intermediate;
    c["shared_expert_intermediate_size"] = d.shared_intermediate;
  }
  return c;
}

// SwiGLU MLP weights of width `inter` under prefix p.
void mlp_weights(RandomWeights& f, WeightMap& w, const std::string& p, int64_t inter,
                 const Qwen35Dims& d) {
  w[p + "gate_proj.weight"] = f.normal({inter, d.hidden}, d.init_std);
  w[p + "up_proj.weight"] = f.normal({inter, d.hidden}, d.init_std);
  w[p + "down_proj.weight"] = f.normal({d.hidden, inter}, d.init_std);
}

}  // namespace

Qwen35Dims tiny_qwen35_dims(int64_t vocab, int64_t eos_token_id) {
  Qwen35Dims d;
  d.hidden = 64;
  d.layers = 4;
  d.intermediate = 128;
  d.vocab = vocab;
  d.linear_k_heads = 2;
  d.linear_v_heads = 4;
  d.linear_k_dim = 32;
  d.linear_v_dim = 32;
  d.heads = 4;
  d.kv_heads = 2;
  d.head_dim = 16;
  d.eos_token_id = eos_token_id;
  d.dtype = DType::F32;
  return d;
}

void write_random_qwen35(const std::filesystem::path& dir, const Qwen35Dims& d) {
  RandomWeights f(d.dtype, d.seed);
  const float s = d.init_std;
  WeightMap w;
  w["model.embed_tokens.weight"] = f.normal({d.vocab, d.hidden}, s);
  if (!d.tied) w["lm_head.weight"] = f.normal({d.vocab, d.hidden}, s);
  w["model.norm.weight"] = f.constant({d.hidden}, 0.0f);  // zero-centred norms: 0 is the identity
  const int64_t key = d.linear_k_heads * d.linear_k_dim, value = d.linear_v_heads * d.linear_v_dim;
  for (int64_t i = 0; i < d.layers; ++i) {
    const std::string p = "model.layers." + std::to_string(i) + ".";
    w[p + "input_layernorm.weight"] = f.constant({d.hidden}, 0.0f);
    w[p + "post_attention_layernorm.weight"] = f.constant({d.hidden}, 0.0f);
    if (d.experts > 0) {
      // A wider router spreads the tokens over the experts, as trained routers do.
      w[p + "mlp.gate.weight"] = f.normal({d.experts, d.hidden}, 1.0f);
      for (int64_t e = 0; e < d.experts; ++e)
        mlp_weights(f, w, p + "mlp.experts." + std::to_string(e) + ".", d.moe_intermediate, d);
      mlp_weights(f, w, p + "mlp.shared_expert.", d.shared_intermediate, d);
      w[p + "mlp.shared_expert_gate.weight"] = f.normal({1, d.hidden}, s);
    } else {
      mlp_weights(f, w, p + "mlp.", d.intermediate, d);
    }
    if ((i + 1) % d.full_attention_interval == 0) {
      const std::string a = p + "self_attn.";
      // q_proj holds each head's query and output gate: 2 * heads * head_dim rows.
      random_attention(f, w, a, d.hidden, 2 * d.heads * d.head_dim, d.kv_heads * d.head_dim, d.heads * d.head_dim, s);
      w[a + "q_norm.weight"] = f.constant({d.head_dim}, 0.0f);
      w[a + "k_norm.weight"] = f.constant({d.head_dim}, 0.0f);
    } else {
      const std::string a = p + "linear_attn.";
      w[a + "in_proj_qkv.weight"] = f.normal({2 * key + value, d.hidden}, s);
      w[a + "in_proj_z.weight"] = f.normal({value, d.hidden}, s);
      w[a + "in_proj_b.weight"] = f.normal({d.linear_v_heads, d.hidden}, s);
      w[a + "in_proj_a.weight"] = f.normal({d.linear_v_heads, d.hidden}, s);
      w[a + "conv1d.weight"] = f.normal({2 * key + value, 1, d.conv_kernel}, 0.5f);
      w[a + "A_log"] = f.uniform({d.linear_v_heads}, d.a_log_min, d.a_log_max);
      w[a + "dt_bias"] = f.constant({d.linear_v_heads}, 1.0f);
      w[a + "norm.weight"] = f.constant({d.linear_v_dim}, 1.0f);
      w[a + "out_proj.weight"] = f.normal({d.hidden, value}, s);
    }
  }
  write_random_checkpoint(dir, config_of(d), w);
}

}  // namespace s0
