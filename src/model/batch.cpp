#include "model/batch.h"

#include "core/error.h"

namespace s0 {

PackedBatch PackedBatch::from_sequences(const std::vector<std::vector<int64_t>>& seqs,
                                        const std::vector<const StateSet*>& initial,
                                        const std::vector<SequenceCache*>& caches) {
  if (!initial.empty() && initial.size() != seqs.size())
    fail("internal: ", initial.size(), " initial-state sets for ", seqs.size(), " sequences");
  if (!caches.empty() && caches.size() != seqs.size())
    fail("internal: ", caches.size(), " caches for ", seqs.size(), " sequences");
  PackedBatch b;
  b.offsets.push_back(0);
  for (size_t i = 0; i < seqs.size(); ++i) {
    const auto& s = seqs[i];
    if (s.empty()) fail("empty sequence in batch");
    const int64_t start = caches.empty() ? 0 : caches[i]->length;
    for (size_t t = 0; t < s.size(); ++t) {
      b.tokens.push_back(s[t]);
      b.positions.push_back(start + static_cast<int64_t>(t));
    }
    b.offsets.push_back(static_cast<int64_t>(b.tokens.size()));
  }
  b.initial = initial.empty() ? std::vector<const StateSet*>(seqs.size(), nullptr) : initial;
  b.caches = caches;
  return b;
}

MixerCache* PackedBatch::mixer_cache(int64_t s, size_t block, size_t mixer) const {
  if (caches.empty()) return nullptr;
  return &caches[static_cast<size_t>(s)]->blocks.at(block).at(mixer);
}

const float* PackedBatch::initial_state(int64_t s, int slot) const {
  const StateSet* set = initial[static_cast<size_t>(s)];
  if (!set || slot < 0 || static_cast<size_t>(slot) >= set->states.size()) return nullptr;
  const Tensor& t = set->states[static_cast<size_t>(slot)];
  return t.empty() ? nullptr : t.f32();
}

}  // namespace s0
