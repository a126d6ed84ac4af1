#pragma once
// How many sequences decode together when a command does not say (--batch). On the CPU, 16. On a
// GPU, as many as half its free memory holds, at most 256: a decode step reads the weights once for
// the whole batch, so tokens/s grows with the batch until each sequence's own traffic (its recurrent
// states, its keys and values) dominates. Measured on an H200 with Qwen3.5-4B's shape (decode_bench,
// sampled, 150-token prompts): 8,822 tokens/s at 64 and 14,613 at 256 in one run; 14,373 at 256 and
// 15,420 at 512 in another, the GPU holding 90 GB against 50. Past 256 the memory buys little.
#include <cstddef>
#include <cstdint>

#include "model/cache.h"
#include "model/model.h"

namespace s0 {

inline constexpr int64_t kCpuGenerationBatch = 16;
inline constexpr int64_t kMaxDefaultGenerationBatch = 256;

// Sequences of `per_sequence` bytes that half of `available` bytes holds, within [1, 256]; the
// other half is for the step's activations, prefill chunks and blocks the allocator keeps.
int64_t batch_for_memory(size_t available, int64_t per_sequence);

// The default batch for generating with `model` on its device, sequences reaching `context` tokens
// (longest prompt plus new tokens): kCpuGenerationBatch on the CPU; on a GPU batch_for_memory of
// its available memory (ops::device_memory_available) over a sequence's cache
// (model/cache.h sequence_cache_bytes, in `dtypes`) and four float32 rows of the vocabulary (its
// logits and the sampler's work).
int64_t default_generation_batch(const HybridModel& model, int64_t context, CacheDtypes dtypes = {});

// Whether half of `available` bytes holds `batch` sequences of `per_sequence` bytes (the rule of
// batch_for_memory).
bool memory_holds(size_t available, int64_t per_sequence, int64_t batch);
// Whether `batch` sequences reaching `context` tokens fit the memory default_generation_batch
// sizes a batch by, each counted as it counts one: always false on the CPU, whose batch is not sized
// by memory. generate() then lets every sequence's attention caches take room for its whole length
// at once (SchedulerOptions::reserve_context).
bool batch_holds_context(const HybridModel& model, int64_t context, CacheDtypes dtypes, int64_t batch);

}  // namespace s0
