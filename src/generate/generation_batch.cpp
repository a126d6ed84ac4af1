#include "generate/generation_batch.h"

#include <algorithm>

#include "model/cache.h"
#include "ops/device_runtime.h"

namespace s0 {

int64_t batch_for_memory(size_t available, int64_t per_sequence) {
  const auto fits = static_cast<int64_t>(available / 2 / static_cast<size_t>(std::max<int64_t>(per_sequence, 1)));
  return std::clamp<int64_t>(fits, 1, kMaxDefaultGenerationBatch);
}

namespace {

// A generating sequence's bytes on a GPU: its caches and four float32 rows of the vocabulary (its
// logits and the sampler's work).
int64_t generating_sequence_bytes(const HybridModel& model, int64_t context, CacheDtypes dtypes) {
  const int64_t vocabulary_rows = 4 * model.vocab * static_cast<int64_t>(sizeof(float));
  return sequence_cache_bytes(model, context, dtypes) + vocabulary_rows;
}

}  // namespace

int64_t default_generation_batch(const HybridModel& model, int64_t context, CacheDtypes dtypes) {
  const Device d = model.device();
  if (d.is_cpu()) return kCpuGenerationBatch;
  return batch_for_memory(ops::device_memory_available(d), generating_sequence_bytes(model, context, dtypes));
}

bool memory_holds(size_t available, int64_t per_sequence, int64_t batch) {
  return available / 2 / static_cast<size_t>(std::max<int64_t>(per_sequence, 1)) >= static_cast<size_t>(batch);
}

bool batch_holds_context(const HybridModel& model, int64_t context, CacheDtypes dtypes, int64_t batch) {
  const Device d = model.device();
  return !d.is_cpu() &&
         memory_holds(ops::device_memory_available(d), generating_sequence_bytes(model, context, dtypes), batch);
}

}  // namespace s0
