#include "model/arch/random_falcon_h1.h"

#include <limits>

#include "model/arch/random_layers.h"

namespace s0 {

namespace {

Json config_of(const FalconH1Dims& d) {
  return {{"model_type", "falcon_h1"},
          {"architectures", {"FalconH1ForCausalLM"}},
          {"hidden_act", "silu"},
          {"vocab_size", d.vocab},
          {"hidden_size", d.hidden},
          {"intermediate_size", d.intermediate},
          {"num_hidden_layers", d.layers},
          {"num_attention_heads", d.heads},
          {"num_key_value_heads", d.kv_heads},
          {"head_dim", d.head_dim},
          {"mamba_d_ssm", d.mamba_heads * d.mamba_head_dim},
          {"mamba_n_heads", d.mamba_heads},
          {"mamba_d_head", d.mamba_head_dim},
          {"mamba_n_groups", d.groups},
          {"mamba_d_state", d.d_state},
          {"mamba_d_conv", d.conv_kernel},
          {"mamba_conv_bias", true},
          {"mamba_proj_bias", false},
          {"mamba_rms_norm", true},
          {"mamba_norm_before_gate", false},
          {"rms_norm_eps", 1e-5},
          {"tie_word_embeddings", false},
          {"max_position_embeddings", d.max_positions},
          {"time_step_limit", {0.0, std::numeric_limits<double>::infinity()}},
          {"torch_dtype", d.dtype == DType::BF16 ? "bfloat16" : "float32"},
          {"rope_parameters", {{"rope_type", "default"}, {"rope_theta", 100000000000.0}}}};
}

}  // namespace

void write_random_falcon_h1(const std::filesystem::path& dir, const FalconH1Dims& d) {
  RandomWeights f(d.dtype, d.seed);
  const float s = d.init_std;
  const RandomMamba2 mamba{d.mamba_heads, d.mamba_head_dim, d.d_state, d.groups, d.conv_kernel};
  WeightMap w;
  w["model.embed_tokens.weight"] = f.normal({d.vocab, d.hidden}, s);
  w["lm_head.weight"] = f.normal({d.vocab, d.hidden}, s);
  w["model.final_layernorm.weight"] = f.constant({d.hidden}, 1.0f);
  for (int64_t i = 0; i < d.layers; ++i) {
    const std::string p = "model.layers." + std::to_string(i) + ".";
    w[p + "input_layernorm.weight"] = f.constant({d.hidden}, 1.0f);
    w[p + "pre_ff_layernorm.weight"] = f.constant({d.hidden}, 1.0f);
    w[p + "feed_forward.gate_proj.weight"] = f.normal({d.intermediate, d.hidden}, s);
    w[p + "feed_forward.up_proj.weight"] = f.normal({d.intermediate, d.hidden}, s);
    w[p + "feed_forward.down_proj.weight"] = f.normal({d.hidden, d.intermediate}, s);
    random_attention(f, w, p + "self_attn.", d.hidden, d.heads * d.head_dim, d.kv_heads * d.head_dim,
                     d.heads * d.head_dim, s);
    random_mamba2_mixer(f, w, p + "mamba.", mamba, d.hidden, s);
  }
  write_random_checkpoint(dir, config_of(d), w);
}

}  // namespace s0
