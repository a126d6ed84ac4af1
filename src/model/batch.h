#pragma once
// A packed batch: sequences of different lengths concatenated without padding (cumulative offsets,
// like cu_seqlens), each with its own optional set of initial recurrent states (an adapter).
#include <cstdint>
#include <vector>

#include "core/tensor.h"
#include "model/cache.h"

namespace s0 {

// One initial state per recurrent layer of the model (HybridModel::recurrent order), float32 in the
// layer's state shape; an empty Tensor means the zero state.
struct StateSet {
  std::vector<Tensor> states;
};

struct PackedBatch {
  std::vector<int64_t> tokens;     // all sequences back to back
  std::vector<int64_t> offsets;    // n_seqs + 1 entries; sequence s is tokens[offsets[s], offsets[s+1])
  std::vector<int64_t> positions;  // per token: its position within its sequence
  std::vector<const StateSet*> initial;  // per sequence; null = zero states
  // Per sequence, or empty (training, scoring): generation caches the layers read and extend.
  // A sequence's tokens then continue its cache: positions start at its length, and a recurrent
  // layer starts from the cached state once there is one (before that from `initial`).
  std::vector<SequenceCache*> caches;

  static PackedBatch from_sequences(const std::vector<std::vector<int64_t>>& seqs,
                                    const std::vector<const StateSet*>& initial = {},
                                    const std::vector<SequenceCache*>& caches = {});
  int64_t n_tokens() const { return static_cast<int64_t>(tokens.size()); }
  int64_t n_seqs() const { return static_cast<int64_t>(offsets.size()) - 1; }
  int64_t begin(int64_t s) const { return offsets[s]; }
  int64_t length(int64_t s) const { return offsets[s + 1] - offsets[s]; }
  // The initial state of recurrent slot `slot` for sequence s, or null for zeros.
  const float* initial_state(int64_t s, int slot) const;
  // The cache of mixer `mixer` of block `block` for sequence s, or null without caches.
  MixerCache* mixer_cache(int64_t s, size_t block, size_t mixer) const;
};

}  // namespace s0
