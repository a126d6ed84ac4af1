#include "model/arch/random_mamba2_hybrid.h"

#include <limits>

#include "core/error.h"
#include "model/arch/random_layers.h"

namespace s0 {

namespace {

const char* model_type(Mamba2Hybrid f) {
  switch (f) {
    case Mamba2Hybrid::Bamba: return "bamba";
    case Mamba2Hybrid::Granite: return "granitemoehybrid";
    case Mamba2Hybrid::NemotronH: return "nemotron_h";
  }
  return "?";
}

void check(const Mamba2HybridDims& d) {
  const std::string what = std::string("random ") + model_type(d.family) + " checkpoint: ";
  const std::string allowed = d.family == Mamba2Hybrid::NemotronH ? "M*-E" : "M*";
  if (d.pattern.empty() || d.pattern.find_first_not_of(allowed) != std::string::npos)
    fail(what, "pattern \"", d.pattern, "\" must be made of ", allowed);
  if (d.family != Mamba2Hybrid::NemotronH && (d.mamba_heads * d.mamba_head_dim) % d.hidden != 0)
    fail(what, "mamba_heads * mamba_head_dim ", d.mamba_heads * d.mamba_head_dim, " must be a multiple of hidden ",
         d.hidden);
  const bool needs_experts = d.family == Mamba2Hybrid::NemotronH && d.pattern.find('E') != std::string::npos;
  if (needs_experts && d.experts < 2) fail(what, "'E' layers need experts >= 2");
}

Json config_of(const Mamba2HybridDims& d) {
  Json c = {{"model_type", model_type(d.family)},
            {"vocab_size", d.vocab},
            {"hidden_size", d.hidden},
            {"num_attention_heads", d.heads},
            {"num_key_value_heads", d.kv_heads},
            {"max_position_embeddings", d.max_positions},
            {"tie_word_embeddings", false},
            {"time_step_limit", {0.0, std::numeric_limits<double>::infinity()}},
            {"torch_dtype", d.dtype == DType::BF16 ? "bfloat16" : "float32"}};
  const int64_t layers = static_cast<int64_t>(d.pattern.size());
  if (d.family == Mamba2Hybrid::NemotronH) {
    c["architectures"] = {"NemotronHForCausalLM"};
    c["hybrid_override_pattern"] = d.pattern;
    c["head_dim"] = d.head_dim;
    c["intermediate_size"] = d.intermediate;
    c["mlp_hidden_act"] = "relu2";
    c["mamba_num_heads"] = d.mamba_heads;
    c["mamba_head_dim"] = d.mamba_head_dim;
    c["ssm_state_size"] = d.d_state;
    c["n_groups"] = d.groups;
    c["conv_kernel"] = d.conv_kernel;
    c["layer_norm_epsilon"] = 1e-5;
    c["n_routed_experts"] = d.experts;
    c["num_experts_per_tok"] = d.experts_per_token;
    c["moe_intermediate_size"] = d.moe_intermediate;
    c["moe_shared_expert_intermediate_size"] = d.shared_intermediate;
    c["n_group"] = d.n_group;
    c["topk_group"] = d.topk_group;
    c["routed_scaling_factor"] = d.routed_scaling;
    c["norm_topk_prob"] = true;
    return c;
  }
  // Bamba and Granite: the Mamba-2 keys they share (hybrid_layers.h's bamba_style_mamba2).
  c["num_hidden_layers"] = layers;
  c["hidden_act"] = "silu";
  c["rms_norm_eps"] = 1e-5;
  c["mamba_n_heads"] = d.mamba_heads;
  c["mamba_d_head"] = d.mamba_head_dim;
  c["mamba_expand"] = d.mamba_heads * d.mamba_head_dim / d.hidden;
  c["mamba_n_groups"] = d.groups;
  c["mamba_d_state"] = d.d_state;
  c["mamba_d_conv"] = d.conv_kernel;
  c["mamba_conv_bias"] = true;
  c["mamba_proj_bias"] = false;
  c["rope_parameters"] = {{"rope_type", "default"}, {"rope_theta", 10000.0}};
  if (d.family == Mamba2Hybrid::Bamba) {
    c["architectures"] = {"BambaForCausalLM"};
    c["head_dim"] = d.head_dim;
    c["intermediate_size"] = d.intermediate;
    Json attention = Json::array();
    for (int64_t l = 0; l < layers; ++l)
      if (d.pattern[l] == '*') attention.push_back(l);
    c["attn_layer_indices"] = attention;
    return c;
  }
  // Granite derives head_dim from hidden / heads.
  c["architectures"] = {"GraniteMoeHybridForCausalLM"};
  Json types = Json::array();
  for (char k : d.pattern) types.push_back(k == 'M' ? "mamba" : "attention");
  c["layer_types"] = types;
  c["position_embedding_type"] = "rope";
  c["shared_intermediate_size"] = d.intermediate;
  c["num_local_experts"] = d.experts;
  c["num_experts_per_tok"] = d.experts_per_token;
  c["intermediate_size"] = d.moe_intermediate;
  return c;
}

// Nemotron-H: backbone.layers.{l}.norm + one mixer per layer.
void nemotron_h_layers(RandomWeights& f, WeightMap& w, const Mamba2HybridDims& d, const RandomMamba2& mamba) {
  const float s = d.init_std;
  w["backbone.embeddings.weight"] = f.normal({d.vocab, d.hidden}, s);
  w["backbone.norm_f.weight"] = f.constant({d.hidden}, 1.0f);
  for (size_t l = 0; l < d.pattern.size(); ++l) {
    const std::string p = "backbone.layers." + std::to_string(l) + ".", m = p + "mixer.";
    w[p + "norm.weight"] = f.constant({d.hidden}, 1.0f);
    switch (d.pattern[l]) {
      case 'M': random_mamba2_mixer(f, w, m, mamba, d.hidden, s); break;
      case '*':
        random_attention(f, w, m, d.hidden, d.heads * d.head_dim, d.kv_heads * d.head_dim, d.heads * d.head_dim, s);
        break;
      case '-':
        w[m + "up_proj.weight"] = f.normal({d.intermediate, d.hidden}, s);
        w[m + "down_proj.weight"] = f.normal({d.hidden, d.intermediate}, s);
        break;
      default:  // 'E'
        // A wide router spreads the tokens over the experts, as trained routers do.
        w[m + "gate.weight"] = f.normal({d.experts, d.hidden}, 1.0f);
        w[m + "gate.e_score_correction_bias"] = f.normal({d.experts}, 0.01f);
        for (int64_t e = 0; e < d.experts; ++e) {
          const std::string x = m + "experts." + std::to_string(e) + ".";
          w[x + "up_proj.weight"] = f.normal({d.moe_intermediate, d.hidden}, s);
          w[x + "down_proj.weight"] = f.normal({d.hidden, d.moe_intermediate}, s);
        }
        w[m + "shared_experts.up_proj.weight"] = f.normal({d.shared_intermediate, d.hidden}, s);
        w[m + "shared_experts.down_proj.weight"] = f.normal({d.hidden, d.shared_intermediate}, s);
    }
  }
}

// Bamba and Granite: model.layers.{l}.input_layernorm + mixer, then a norm and the feed-forward.
void bamba_style_layers(RandomWeights& f, WeightMap& w, const Mamba2HybridDims& d, const RandomMamba2& mamba) {
  const float s = d.init_std;
  const bool granite = d.family == Mamba2Hybrid::Granite;
  const int64_t head_dim = granite ? d.hidden / d.heads : d.head_dim, I = d.intermediate;
  w["model.embed_tokens.weight"] = f.normal({d.vocab, d.hidden}, s);
  w[granite ? "model.norm.weight" : "model.final_layernorm.weight"] = f.constant({d.hidden}, 1.0f);
  for (size_t l = 0; l < d.pattern.size(); ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    w[p + "input_layernorm.weight"] = f.constant({d.hidden}, 1.0f);
    if (d.pattern[l] == 'M')
      random_mamba2_mixer(f, w, p + "mamba.", mamba, d.hidden, s);
    else
      random_attention(f, w, p + "self_attn.", d.hidden, d.heads * head_dim, d.kv_heads * head_dim, d.heads * head_dim,
                       s);
    if (!granite) {
      w[p + "pre_ff_layernorm.weight"] = f.constant({d.hidden}, 1.0f);
      w[p + "feed_forward.gate_proj.weight"] = f.normal({I, d.hidden}, s);
      w[p + "feed_forward.up_proj.weight"] = f.normal({I, d.hidden}, s);
      w[p + "feed_forward.down_proj.weight"] = f.normal({d.hidden, I}, s);
      continue;
    }
    w[p + "post_attention_layernorm.weight"] = f.constant({d.hidden}, 1.0f);
    w[p + "shared_mlp.input_linear.weight"] = f.normal({2 * I, d.hidden}, s);
    w[p + "shared_mlp.output_linear.weight"] = f.normal({d.hidden, I}, s);
    if (d.experts > 0) {
      const std::string m = p + "block_sparse_moe.";
      w[m + "router.layer.weight"] = f.normal({d.experts, d.hidden}, 1.0f);
      w[m + "input_linear.weight"] = f.normal({d.experts, 2 * d.moe_intermediate, d.hidden}, s);
      w[m + "output_linear.weight"] = f.normal({d.experts, d.hidden, d.moe_intermediate}, s);
    }
  }
}

}  // namespace

void write_random_mamba2_hybrid(const std::filesystem::path& dir, const Mamba2HybridDims& d) {
  check(d);
  RandomWeights f(d.dtype, d.seed);
  const RandomMamba2 mamba{d.mamba_heads, d.mamba_head_dim, d.d_state, d.groups, d.conv_kernel};
  WeightMap w;
  if (d.family == Mamba2Hybrid::NemotronH)
    nemotron_h_layers(f, w, d, mamba);
  else
    bamba_style_layers(f, w, d, mamba);
  w["lm_head.weight"] = f.normal({d.vocab, d.hidden}, d.init_std);
  write_random_checkpoint(dir, config_of(d), w);
}

}  // namespace s0
