#include "generate/generation_batch.h"

#include <algorithm>

#include "model/cache.h"
#include "ops/device_runtime.h"

namespace s0 {

int64_t batch_for_memory(size_t available, int64_t per_sequence) {
  const auto fits = static_cast<int64_t>(available / 2 / static_cast<size_t>(std::max<int64_t>(per_sequence, 1)));
  return std::clamp<int64_t>(fits, 1, kMaxDefaultGenerationBatch);
}

int64_t default_generation_batch(const HybridModel& model, int64_t context, CacheDtypes dtypes) {
  const Device d = model.device();
  if (d.is_cpu()) return kCpuGenerationBatch;
  const int64_t vocabulary_rows = 4 * model.vocab * static_cast<int64_t>(sizeof(float));
  return batch_for_memory(ops::device_memory_available(d),
                          sequence_cache_bytes(model, context, dtypes) + vocabulary_rows);
}

}  // namespace s0
