#include "model/layers/recurrent_cache.h"

#include "ops/cpu/conv1d.h"

namespace s0 {

const float* conv_history(const MixerCaches& caches, int64_t seq, int64_t K, int64_t C) {
  if (caches.empty()) return nullptr;
  MixerCache& c = *caches[seq];
  if (c.conv_window.empty()) c.conv_window = Tensor::zeros({K - 1, C});
  return c.conv_window.f32();
}

void conv_history_advance(const MixerCaches& caches, int64_t seq, const float* x, int64_t T, int64_t C, int64_t K) {
  if (caches.empty()) return;
  ops::conv1d_advance_history(caches[seq]->conv_window.f32_mut(), x, T, C, K);
}

const float* recurrence_start(const MixerCaches& caches, const PackedBatch& batch, int64_t seq, int slot) {
  if (!caches.empty() && !caches[seq]->state.empty()) return caches[seq]->state.f32();
  return batch.initial_state(seq, slot);
}

void recurrence_finish(const MixerCaches& caches, int64_t seq, const Tensor& final_state) {
  if (!caches.empty()) caches[seq]->state = final_state;
}

}  // namespace s0
