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

// The dtypes a sequence's caches keep between calls (a generation's options): the recurrent states
// (ops/carried_state.h) and the attention keys and values (ops/attention.h's KvCache), each float32
// or bf16.
struct CacheDtypes {
  DType state = DType::F32;
  DType kv = DType::F32;
};

struct SequenceCache {
  int64_t length = 0;  // tokens already seen; the next token's position
  std::vector<std::vector<MixerCache>> blocks;  // [block][mixer]
  CacheDtypes dtypes;

  // Sized for a model with the given number of mixers per block, everything empty.
  explicit SequenceCache(const std::vector<size_t>& mixers_per_block = {}, CacheDtypes dtypes = {})
      : dtypes(dtypes) {
    for (size_t n : mixers_per_block) {
      std::vector<MixerCache>& block = blocks.emplace_back(n);
      for (MixerCache& m : block) m.kv.dtype = dtypes.kv;
    }
  }

  // A copy that shares no tensor with this one, on the same device: what a prompt's prefill left,
  // handed to another sequence of the same prompt and adapter (generate/scheduler.h).
  SequenceCache copy() const;

  // The sequence will hold at most `tokens` tokens: every attention cache takes room for them at its
  // first growth within them (ops/attention.h's KvCache::reserve) instead of doubling.
  void reserve_keys(int64_t tokens);
};

// The most bytes one sequence's cache holds once it has seen `context` tokens: every recurrent
// mixer's state and float32 conv window, and every attention mixer's keys and values for up to
// 2 x `context` rows (a cache that grows by doubling can reach that, ops/attention.cpp; one
// reserved for the context holds exactly it), in `dtypes`. What a generation batch is sized by
// (generate/generation_batch.h).
int64_t sequence_cache_bytes(const HybridModel& model, int64_t context, CacheDtypes dtypes = {});

}  // namespace s0
