#include "model/cache.h"

#include "core/overloaded.h"

namespace s0 {

namespace {

Tensor copy_of(const Tensor& t) { return t.empty() ? Tensor() : t.clone(); }

}  // namespace

SequenceCache SequenceCache::copy() const {
  SequenceCache out;
  out.length = length;
  for (const std::vector<MixerCache>& block : blocks) {
    std::vector<MixerCache>& copied = out.blocks.emplace_back();
    for (const MixerCache& m : block)
      copied.push_back({{copy_of(m.kv.k), copy_of(m.kv.v), m.kv.length}, copy_of(m.conv_window), copy_of(m.state)});
  }
  return out;
}

int64_t sequence_cache_bytes(const HybridModel& model, int64_t context) {
  constexpr int64_t f32 = sizeof(float);
  int64_t floats = 0;
  for (const Block& b : model.blocks)
    for (const Mixer& m : b.mixers)
      floats += std::visit(
          Overloaded{
              [&](const AttentionMixer& a) { return 2 * (2 * context) * a.n_kv_heads * a.head_dim; },
              [](const GatedDeltaMixer& g) {
                return g.n_v_heads * g.k_dim * g.v_dim + (g.conv_kernel - 1) * g.conv_dim();
              },
              [](const Mamba2Mixer& m2) {
                return m2.n_heads * m2.head_dim * m2.d_state + (m2.conv_kernel - 1) * m2.conv_dim();
              },
          },
          m);
  return floats * f32;
}

}  // namespace s0
