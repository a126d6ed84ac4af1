#pragma once
// A small random Qwen3.5 model with the byte tokenizer, and adapters for it, written as a user's
// folders would be: for the tests that run generation end to end (`s0 generate`, `s0 serve`).
#include <filesystem>
#include <string>

#include "io/adapter_file.h"
#include "model/arch/random_qwen35.h"
#include "support/small_models.h"
#include "support/test_support.h"
#include "tokenizer/byte_tokenizer.h"

namespace s0::test {

// small_qwen35's shape for the byte tokenizer (vocab 257, its EOS), 256 positions, and weights
// large enough (std 0.2) that generated text varies.
inline Qwen35Dims small_dims(int64_t v_dim) {
  Qwen35Dims d = small_qwen35();
  d.vocab = 257;
  d.linear_v_dim = v_dim;
  d.max_positions = 256;
  d.eos_token_id = kByteTokenizerEos;
  d.init_std = 0.2f;
  return d;
}

inline std::string write_model(const fs::path& dir, const Qwen35Dims& d) {
  write_random_qwen35(dir, d);
  write_byte_tokenizer(dir);
  return dir.string();
}

// An adapter for the first three recurrent layers whose states are `value` times a fixed pattern.
inline std::string write_adapter_for(const fs::path& dir, const Qwen35Dims& d, float value) {
  AdapterFile a;
  a.arch = "gated_delta_net";
  a.state_shape = {d.linear_v_heads, d.linear_k_dim, d.linear_v_dim};
  a.config.alpha = 1.0;
  for (int64_t layer : {0, 1, 2}) {
    a.layers.push_back(layer);
    Tensor t = Tensor::zeros(a.state_shape);
    for (int64_t i = 0; i < t.numel(); ++i) t.f32_mut()[i] = value * static_cast<float>((i * 7919) % 13 - 6);
    a.states[layer] = t;
  }
  write_adapter(dir, a, true);
  return dir.string();
}

// The user message followed by " A:": a chat template for models that have none.
inline void write_plain_chat_template(const std::string& model) {
  write_text(fs::path(model) / "chat_template.jinja",
             "{% for m in messages %}{{ m.content }}{% endfor %}{% if add_generation_prompt %} A:{% endif %}");
}

}  // namespace s0::test
