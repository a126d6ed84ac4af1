#pragma once
// How the recurrent mixers (GatedDeltaNet, Mamba-2) continue a sequence from its generation cache:
// the conv reads the cached window as history, the recurrence starts from the cached state. Without
// caches every function falls back to the training behaviour (zero history, the batch's initial
// state), so one layer forward serves training, prefill and decode.
#include "model/batch.h"
#include "model/cache.h"

namespace s0 {

// The K-1 conv inputs before sequence seq's first token, or null (zeros) when not cached.
const float* conv_history(const MixerCaches& caches, int64_t seq, int64_t K, int64_t C);
// Moves the cached window past the sequence's new conv inputs x[T, C]; nothing without caches.
void conv_history_advance(const MixerCaches& caches, int64_t seq, const float* x, int64_t T, int64_t C, int64_t K);
// The state the recurrence of sequence seq starts from: the cached one once the sequence has run,
// else its initial state (an adapter's S0, or null for zeros) -- the adapter acts at prefill only.
const float* recurrence_start(const MixerCaches& caches, const PackedBatch& batch, int64_t seq, int slot);
// Whether the layer must compute final states: the caller asked for them or a cache keeps them.
inline bool needs_final_states(const MixerCaches& caches, const void* requested) {
  return requested || !caches.empty();
}
// Keeps `final_state` as the sequence's cached state (the next step's start); nothing without caches.
void recurrence_finish(const MixerCaches& caches, int64_t seq, const Tensor& final_state);

}  // namespace s0
