#include "model/cache.h"

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

}  // namespace s0
