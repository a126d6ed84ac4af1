#pragma once
// The sampling and length settings a command or a workflow names, flat (one value per setting, as
// flags bind them), and the generator's options they make once the model's EOS tokens are known.
#include <cstdint>
#include <optional>
#include <vector>

#include "generate/generator.h"

namespace s0 {

struct GenerationSettings {
  int64_t max_new_tokens = 128;
  double temperature = 0.0, top_p = 1.0;
  int64_t top_k = 0;
  std::optional<int64_t> batch;  // unset: default_generation_batch (generate/generation_batch.h)
  uint64_t seed = 0;
  bool eager = false;  // no CUDA graphs of decode steps (GenerationOptions::cuda_graphs)
  CacheDtypes cache_dtypes;  // GenerationOptions::cache_dtypes

  GenerationOptions options(const std::vector<int64_t>& eos_ids) const {
    GenerationOptions o;
    o.max_new_tokens = max_new_tokens;
    o.sampling = {temperature, top_p, top_k, seed};
    o.eos_ids = eos_ids;
    o.batch = batch.value_or(0);
    o.cuda_graphs = !eager;
    o.cache_dtypes = cache_dtypes;
    return o;
  }
};

}  // namespace s0
