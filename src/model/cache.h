#pragma once
// What one sequence carries from one forward to the next during generation: per block and mixer,
// the attention keys/values so far, or a recurrent mixer's conv window and state, all Tensors on
// the model's device. The ops read and extend them when the batch carries caches
// (PackedBatch::caches), so a prefill and every later decode step run the same code, and cached
// decoding computes what a full recomputation would. The generate layer creates and owns these;
// the model only fills them.
#include <cstdint>
#include <vector>

#include "core/tensor.h"
#include "model/model.h"
#include "ops/attention.h"

namespace s0 {

struct MixerCache {
  ops::KvCache kv;     // attention: [length, Hkv * D] keys and values after the k norm and rotary
  Tensor conv_window;  // recurrent: the last K-1 conv inputs [K-1, C]; empty = zeros
  Tensor state;        // recurrent: the state after the last token; empty = not started
};

struct SequenceCache {
  int64_t length = 0;  // tokens already seen; the next token's position
  std::vector<std::vector<MixerCache>> blocks;  // [block][mixer]
  // The dtype the recurrent states are kept in between calls: float32, or bf16 (ops/carried_state.h).
  DType state_dtype = DType::F32;

  // Sized for a model with the given number of mixers per block, everything empty.
  explicit SequenceCache(const std::vector<size_t>& mixers_per_block = {}, DType state_dtype = DType::F32)
      : state_dtype(state_dtype) {
    for (size_t n : mixers_per_block) blocks.emplace_back(n);
  }

  // A copy that shares no tensor with this one, on the same device: what a prompt's prefill left,
  // handed to another sequence of the same prompt and adapter (generate/scheduler.h).
  SequenceCache copy() const;
};

// The most bytes one sequence's cache holds once it has seen `context` tokens: every recurrent
// mixer's state (in `state_dtype`) and float32 conv window, and every attention mixer's float32 keys
// and values for up to 2 x `context` rows (a cache grows by doubling, ops/attention.cpp). What a
// generation batch is sized by (generate/generation_batch.h).
int64_t sequence_cache_bytes(const HybridModel& model, int64_t context, DType state_dtype = DType::F32);

}  // namespace s0
