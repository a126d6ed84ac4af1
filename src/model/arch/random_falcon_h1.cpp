#include "model/arch/random_falcon_h1.h"

#include <limits>
#include <map>

#include "io/file.h"
#include "io/json.h"
#include "io/safetensors.h"
#include "model/arch/random_weights.h"

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
  const int64_t ssm = d.mamba_heads * d.mamba_head_dim, gn = d.groups * d.d_state, conv = ssm + 2 * gn;
  std::map<std::string, Tensor> w;
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
    const std::string a = p + "self_attn.";
    w[a + "q_proj.weight"] = f.normal({d.heads * d.head_dim, d.hidden}, s);
    w[a + "k_proj.weight"] = f.normal({d.kv_heads * d.head_dim, d.hidden}, s);
    w[a + "v_proj.weight"] = f.normal({d.kv_heads * d.head_dim, d.hidden}, s);
    w[a + "o_proj.weight"] = f.normal({d.hidden, d.heads * d.head_dim}, s);
    const std::string m = p + "mamba.";
    // in_proj rows: z [ssm], x [ssm], B [G N], C [G N], dt [heads].
    w[m + "in_proj.weight"] = f.normal({2 * ssm + 2 * gn + d.mamba_heads, d.hidden}, s);
    w[m + "conv1d.weight"] = f.normal({conv, 1, d.conv_kernel}, 0.5f);
    w[m + "conv1d.bias"] = f.constant({conv}, 0.0f);
    w[m + "A_log"] = f.uniform({d.mamba_heads}, 0.0f, 2.7725887f);
    w[m + "dt_bias"] = f.constant({d.mamba_heads}, 1.0f);
    w[m + "D"] = f.constant({d.mamba_heads}, 1.0f);
    w[m + "norm.weight"] = f.constant({ssm}, 1.0f);
    w[m + "out_proj.weight"] = f.normal({d.hidden, ssm}, s);
  }
  std::filesystem::create_directories(dir);
  write_file_atomic(dir / "config.json", dump_json(config_of(d)) + "\n");
  write_safetensors(dir / "model.safetensors", w);
}

}  // namespace s0
