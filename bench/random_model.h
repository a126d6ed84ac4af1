#pragma once
// Random checkpoints in the Hugging Face layout for benchmarks: weights are random, speed does not
// depend on them. Writes config.json and model.safetensors (F32 or BF16) to a folder.
#include <cstdint>
#include <filesystem>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "core/half.h"
#include "io/file.h"
#include "io/json.h"
#include "io/safetensors.h"

namespace s0::bench {

// The Qwen3.5-0.8B shape by default (3 GatedDeltaNet : 1 attention).
struct Qwen35Dims {
  int64_t hidden = 1024, layers = 24, inter = 3584, vocab = 248320;
  int64_t heads = 8, kv_heads = 2, head_dim = 256;
  int64_t lin_k_heads = 16, lin_v_heads = 16, lin_k_dim = 128, lin_v_dim = 128, conv = 4;
  int full_attention_every = 4;
};

inline void write_random_qwen35(const std::filesystem::path& dir, const Qwen35Dims& d, bool bf16 = false,
                                uint64_t seed = 0) {
  std::filesystem::create_directories(dir);
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal(0.0f, 0.02f);
  std::map<std::string, Tensor> t;
  auto rand = [&](Shape shape, float mean = 0.0f) {
    Tensor x = Tensor::zeros(shape, bf16 ? DType::BF16 : DType::F32);
    for (int64_t i = 0; i < x.numel(); ++i) {
      const float v = mean + normal(rng);
      if (bf16) static_cast<uint16_t*>(x.raw_mut())[i] = f32_to_bf16(v);
      else static_cast<float*>(x.raw_mut())[i] = v;
    }
    return x;
  };
  Json types = Json::array();
  const std::string p = "model.";
  t[p + "embed_tokens.weight"] = rand({d.vocab, d.hidden});
  t[p + "norm.weight"] = rand({d.hidden});
  const int64_t C = 2 * d.lin_k_heads * d.lin_k_dim + d.lin_v_heads * d.lin_v_dim, vd = d.lin_v_heads * d.lin_v_dim;
  for (int64_t l = 0; l < d.layers; ++l) {
    const bool full = (l + 1) % d.full_attention_every == 0;
    types.push_back(full ? "full_attention" : "linear_attention");
    const std::string L = p + "layers." + std::to_string(l) + ".";
    t[L + "input_layernorm.weight"] = rand({d.hidden});
    t[L + "post_attention_layernorm.weight"] = rand({d.hidden});
    t[L + "mlp.gate_proj.weight"] = rand({d.inter, d.hidden});
    t[L + "mlp.up_proj.weight"] = rand({d.inter, d.hidden});
    t[L + "mlp.down_proj.weight"] = rand({d.hidden, d.inter});
    if (full) {
      const std::string A = L + "self_attn.";
      t[A + "q_proj.weight"] = rand({2 * d.heads * d.head_dim, d.hidden});
      t[A + "k_proj.weight"] = rand({d.kv_heads * d.head_dim, d.hidden});
      t[A + "v_proj.weight"] = rand({d.kv_heads * d.head_dim, d.hidden});
      t[A + "o_proj.weight"] = rand({d.hidden, d.heads * d.head_dim});
      t[A + "q_norm.weight"] = rand({d.head_dim});
      t[A + "k_norm.weight"] = rand({d.head_dim});
    } else {
      const std::string A = L + "linear_attn.";
      t[A + "in_proj_qkv.weight"] = rand({C, d.hidden});
      t[A + "in_proj_z.weight"] = rand({vd, d.hidden});
      t[A + "in_proj_b.weight"] = rand({d.lin_v_heads, d.hidden});
      t[A + "in_proj_a.weight"] = rand({d.lin_v_heads, d.hidden});
      t[A + "conv1d.weight"] = rand({C, 1, d.conv});
      t[A + "A_log"] = rand({d.lin_v_heads});
      t[A + "dt_bias"] = rand({d.lin_v_heads});
      t[A + "norm.weight"] = rand({d.lin_v_dim}, 1.0f);
      t[A + "out_proj.weight"] = rand({d.hidden, vd});
    }
  }
  Json cfg = {{"architectures", {"Qwen3_5ForCausalLM"}},
              {"model_type", "qwen3_5_text"},
              {"vocab_size", d.vocab},
              {"hidden_size", d.hidden},
              {"intermediate_size", d.inter},
              {"num_hidden_layers", d.layers},
              {"layer_types", types},
              {"num_attention_heads", d.heads},
              {"num_key_value_heads", d.kv_heads},
              {"head_dim", d.head_dim},
              {"linear_num_key_heads", d.lin_k_heads},
              {"linear_num_value_heads", d.lin_v_heads},
              {"linear_key_head_dim", d.lin_k_dim},
              {"linear_value_head_dim", d.lin_v_dim},
              {"linear_conv_kernel_dim", d.conv},
              {"rms_norm_eps", 1e-6},
              {"hidden_act", "silu"},
              {"max_position_embeddings", 262144},
              {"tie_word_embeddings", true},
              {"eos_token_id", 0},
              {"rope_parameters", {{"rope_type", "default"}, {"rope_theta", 1e7}, {"partial_rotary_factor", 0.25}}}};
  write_file_atomic(dir / "config.json", dump_json(cfg));
  write_safetensors(dir / "model.safetensors", t);
}

}  // namespace s0::bench
