#pragma once
// The writer core of the random checkpoints (random_qwen35.h, random_falcon_h1.h,
// random_mamba2_hybrid.h): the layers several families store alike, drawn under a name prefix, and
// the folder write. Weights are Gaussian noise of the given std, norms at their identity.
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>

#include "core/tensor.h"
#include "io/json.h"
#include "model/arch/random_weights.h"

namespace s0 {

using WeightMap = std::map<std::string, Tensor>;

struct RandomMamba2 {
  int64_t heads, head_dim, d_state, groups, conv_kernel;
  int64_t d() const { return heads * head_dim; }
};

// A Mamba-2 mixer under p: in_proj [z | x | B | C | dt], conv1d (weight and zero bias), A_log
// (decay rates log 1 .. log 16), dt_bias, D, norm.weight (ones), out_proj.
void random_mamba2_mixer(RandomWeights& f, WeightMap& w, const std::string& p, const RandomMamba2& m, int64_t hidden,
                         float std);

// Attention projections under p: q_proj [q_rows, hidden], k_proj and v_proj [kv_rows, hidden],
// o_proj [hidden, o_in].
void random_attention(RandomWeights& f, WeightMap& w, const std::string& p, int64_t hidden, int64_t q_rows,
                      int64_t kv_rows, int64_t o_in, float std);

// dir/config.json and dir/model.safetensors, each written atomically; dir is created.
void write_random_checkpoint(const std::filesystem::path& dir, const Json& config, const WeightMap& w);

}  // namespace s0
