#include "model/cache.h"

#include "core/overloaded.h"

namespace s0 {

namespace {

Tensor copy_of(const Tensor& t) { return t.empty() ? Tensor() : t.clone(); }

}  // namespace

SequenceCache SequenceCache::copy() const {
  SequenceCache out;
  out.length = length;
  out.dtypes = dtypes;
  for (const std::vector<MixerCache>& block : blocks) {
    std::vector<MixerCache>& copied = out.blocks.emplace_back();
    for (const MixerCache& m : block)
      copied.push_back(
          {{copy_of(m.kv.k), copy_of(m.kv.v), m.kv.length, m.kv.dtype, m.kv.reserve}, copy_of(m.conv_window),
           copy_of(m.state)});
  }
  return out;
}

void SequenceCache::reserve_keys(int64_t tokens) {
  for (std::vector<MixerCache>& block : blocks)
    for (MixerCache& m : block) m.kv.reserve = tokens;
}

int64_t sequence_cache_bytes(const HybridModel& model, int64_t context, CacheDtypes dtypes) {
  const int64_t f32 = sizeof(float), state = static_cast<int64_t>(dtype_size(dtypes.state)),
                kv = static_cast<int64_t>(dtype_size(dtypes.kv));
  int64_t bytes = 0;
  for (const Block& b : model.blocks)
    for (const Mixer& m : b.mixers)
      bytes += std::visit(
          Overloaded{
              [&](const AttentionMixer& a) { return 2 * (2 * context) * a.n_kv_heads * a.head_dim * kv; },
              [&](const GatedDeltaMixer& g) {
                return g.n_v_heads * g.k_dim * g.v_dim * state + (g.conv_kernel - 1) * g.conv_dim() * f32;
              },
              [&](const Mamba2Mixer& m2) {
                return m2.n_heads * m2.head_dim * m2.d_state * state + (m2.conv_kernel - 1) * m2.conv_dim() * f32;
              },
          },
          m);
  return bytes;
}

}  // namespace s0
