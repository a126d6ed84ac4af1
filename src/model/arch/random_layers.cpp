#include "model/arch/random_layers.h"

#include "io/file.h"
#include "io/safetensors.h"

namespace s0 {

void random_mamba2_mixer(RandomWeights& f, WeightMap& w, const std::string& p, const RandomMamba2& m, int64_t hidden,
                         float std) {
  const int64_t gn = m.groups * m.d_state, conv = m.d() + 2 * gn;
  w[p + "in_proj.weight"] = f.normal({2 * m.d() + 2 * gn + m.heads, hidden}, std);
  w[p + "conv1d.weight"] = f.normal({conv, 1, m.conv_kernel}, 0.5f);
  w[p + "conv1d.bias"] = f.constant({conv}, 0.0f);
  w[p + "A_log"] = f.uniform({m.heads}, 0.0f, 2.7725887f);
  w[p + "dt_bias"] = f.constant({m.heads}, 1.0f);
  w[p + "D"] = f.constant({m.heads}, 1.0f);
  w[p + "norm.weight"] = f.constant({m.d()}, 1.0f);
  w[p + "out_proj.weight"] = f.normal({hidden, m.d()}, std);
}

void random_attention(RandomWeights& f, WeightMap& w, const std::string& p, int64_t hidden, int64_t q_rows,
                      int64_t kv_rows, int64_t o_in, float std) {
  w[p + "q_proj.weight"] = f.normal({q_rows, hidden}, std);
  w[p + "k_proj.weight"] = f.normal({kv_rows, hidden}, std);
  w[p + "v_proj.weight"] = f.normal({kv_rows, hidden}, std);
  w[p + "o_proj.weight"] = f.normal({hidden, o_in}, std);
}

void write_random_checkpoint(const std::filesystem::path& dir, const Json& config, const WeightMap& w) {
  std::filesystem::create_directories(dir);
  write_file_atomic(dir / "config.json", dump_json(config) + "\n");
  write_safetensors(dir / "model.safetensors", w);
}

}  // namespace s0
