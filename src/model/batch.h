#pragma once
// A packed batch: sequences of different lengths concatenated without padding (cumulative offsets,
// like cu_seqlens), each with its own optional set of initial recurrent states (an adapter).
#include <cstdint>
#include <vector>

#include "core/adapter_variant.h"
#include "core/tensor.h"
#include "model/cache.h"
#include "ops/attention.h"
#include "ops/varlen.h"

namespace s0 {

// One tensor per recurrent layer of the model (HybridModel::recurrent order), float32 in the layer's
// state shape: the initial state (s0), or the per-step state offset (state_offset); an empty Tensor
// means none (the zero state, no offset).
struct StateSet {
  std::vector<Tensor> states;
  AdapterVariant variant = AdapterVariant::s0;
};

struct PackedBatch {
  std::vector<int64_t> tokens;     // all sequences back to back
  // Empty, or the same tokens as I64 [n_tokens] on the model's device, which the embedding then
  // reads: a decode step's inputs were chosen there by the step before, and `tokens` holds
  // kChosenOnDevice for each such id, which the host has not read yet (generate/scheduler.h).
  Tensor token_ids;
  static constexpr int64_t kChosenOnDevice = -1;
  ops::Varlen seqs;                // sequence s is tokens[seqs.begin(s), seqs.begin(s) + seqs.length(s))
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
  int64_t n_seqs() const { return seqs.n_seqs(); }
  int64_t begin(int64_t s) const { return seqs.begin(s); }
  int64_t length(int64_t s) const { return seqs.length(s); }
  // Per sequence, what recurrent slot `slot` (mixer `mixer` of block `block`) starts from: the
  // sequence's initial state or state offset, and with caches the cached state and conv window it
  // continues.
  std::vector<ops::SequenceStart> recurrent_starts(int slot, size_t block, size_t mixer) const;
  // Per sequence, the key/value cache of attention mixer `mixer` of block `block`; empty without
  // caches.
  std::vector<ops::KvCache*> kv_caches(size_t block, size_t mixer) const;
};

}  // namespace s0
