#include "model/batch.h"

#include "core/error.h"

namespace s0 {

PackedBatch PackedBatch::from_sequences(const std::vector<std::vector<int64_t>>& seqs,
                                        const std::vector<const StateSet*>& initial) {
  if (!initial.empty() && initial.size() != seqs.size())
    fail("internal: ", initial.size(), " initial-state sets for ", seqs.size(), " sequences");
  PackedBatch b;
  b.offsets.push_back(0);
  for (const auto& s : seqs) {
    if (s.empty()) fail("empty sequence in batch");
    for (size_t t = 0; t < s.size(); ++t) {
      b.tokens.push_back(s[t]);
      b.positions.push_back(static_cast<int64_t>(t));
    }
    b.offsets.push_back(static_cast<int64_t>(b.tokens.size()));
  }
  b.initial = initial.empty() ? std::vector<const StateSet*>(seqs.size(), nullptr) : initial;
  return b;
}

const float* PackedBatch::initial_state(int64_t s, int slot) const {
  const StateSet* set = initial[static_cast<size_t>(s)];
  if (!set || slot < 0 || static_cast<size_t>(slot) >= set->states.size()) return nullptr;
  const Tensor& t = set->states[static_cast<size_t>(slot)];
  return t.empty() ? nullptr : t.f32();
}

}  // namespace s0
