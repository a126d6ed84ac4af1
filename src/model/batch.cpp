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
  b.seqs.offsets.push_back(0);
  for (size_t i = 0; i < seqs.size(); ++i) {
    const auto& s = seqs[i];
    if (s.empty()) fail("empty sequence in batch");
    const int64_t start = caches.empty() ? 0 : caches[i]->length;
    for (size_t t = 0; t < s.size(); ++t) {
      b.tokens.push_back(s[t]);
      b.positions.push_back(start + static_cast<int64_t>(t));
    }
    b.seqs.offsets.push_back(static_cast<int64_t>(b.tokens.size()));
  }
  b.initial = initial.empty() ? std::vector<const StateSet*>(seqs.size(), nullptr) : initial;
  b.caches = caches;
  return b;
}

std::vector<ops::SequenceStart> PackedBatch::recurrent_starts(int slot, size_t block, size_t mixer) const {
  std::vector<ops::SequenceStart> starts(static_cast<size_t>(n_seqs()));
  for (size_t s = 0; s < starts.size(); ++s) {
    const StateSet* set = initial[s];
    if (set && slot >= 0 && static_cast<size_t>(slot) < set->states.size())
      (set->variant == AdapterVariant::state_offset ? starts[s].offset : starts[s].initial) =
          set->states[static_cast<size_t>(slot)];
    if (caches.empty()) continue;
    MixerCache& c = caches[s]->blocks.at(block).at(mixer);
    starts[s].carried = &c.state;
    starts[s].carried_dtype = caches[s]->dtypes.state;
    starts[s].window = &c.conv_window;
  }
  return starts;
}

std::vector<ops::KvCache*> PackedBatch::kv_caches(size_t block, size_t mixer) const {
  std::vector<ops::KvCache*> out;
  for (SequenceCache* c : caches) out.push_back(&c->blocks.at(block).at(mixer).kv);
  return out;
}

}  // namespace s0
