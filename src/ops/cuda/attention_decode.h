#pragma once
// A decode step's attention on the GPU (every sequence brings one query row, its key and value
// already appended to its cache): flash-decoding. A sequence's cached keys are cut into chunks
// whose size depends on its own key count alone; a block per (chunk, KV head, up to four of its
// query heads) reads each key and value of the chunk once for those heads and leaves a partial
// max, sum and value accumulator per head; a second kernel merges a sequence's partials in chunk
// order. A sequence of one chunk (up to 64 keys) is finished by the first kernel, and a step with
// no longer sequence launches no merge. Fixed arithmetic order throughout and no atomics: runs
// repeat bit for bit, and a sequence's result does not depend on the rest of the batch. Head dim
// at most 256.
#include <cstdint>
#include <vector>

#include "core/tensor.h"

namespace s0::ops::cuda {

// Device tables of the step, per sequence s: its cache's key and value rows ([capacity, Hkv * D],
// as addresses), the keys cached before this step (past[s]; this step's key makes past[s] + 1), and
// its chunks: chunk_begin[s] .. chunk_begin[s + 1] index chunk_seq, which names each chunk's sequence.
// The rows are float32, or bf16 (`bf16`: ops/attention.h's KvCache), widened as they are read.
struct DecodeArgs {
  int64_t H, Hkv, D;
  float scale;
  const int64_t* keys;
  const int64_t* values;
  const int64_t* past;
  const int64_t* chunk_begin;
  const int64_t* chunk_seq;
  bool aligned;  // D a multiple of 4 (8 for bf16 rows) and q and the caches 16-byte aligned: 16-byte reads
  bool bf16;
};

// Appends chunk_begin (n_keys.size() + 1 entries) and chunk_seq to `table` for sequences with
// n_keys[s] keys each (this step's included); returns the number of chunks.
int64_t append_decode_chunks(const std::vector<int64_t>& n_keys, std::vector<int64_t>& table);

// q[n, H, D] (row s: sequence s's query) -> out[n, H, D], lse[H * s + h].
void attention_decode(const DecodeArgs& a, int64_t chunks, const Tensor& q, Tensor& out, Tensor& lse);

}  // namespace s0::ops::cuda
