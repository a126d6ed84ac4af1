#pragma once
// The sampling and length settings a command or a workflow names, flat (one value per setting, as
// flags bind them), and the generator's options they make once the model's EOS tokens are known.
#include <cstdint>
#include <optional>
#include <vector>

#include "generate/generator.h"

namespace s0 {

// Sequences decoded together when no batch is asked for. On a GPU, 64: up to there a decode step
// costs little more than reading the weights (Qwen3.5-4B's shape on an H200: 6,300 tokens/s at 64
// against 1,400 at 8), and 64 sequences' recurrent states take 3.2 GB at that shape, which any
// GPU holding the model has to spare. On the CPU, 16.
inline int64_t default_generation_batch(Device device) { return device.is_cpu() ? 16 : 64; }

struct GenerationSettings {
  int64_t max_new_tokens = 128;
  double temperature = 0.0, top_p = 1.0;
  int64_t top_k = 0;
  std::optional<int64_t> batch;  // unset: default_generation_batch of the model's device
  uint64_t seed = 0;

  // For a model on `device`.
  GenerationOptions options(const std::vector<int64_t>& eos_ids, Device device) const {
    GenerationOptions o;
    o.max_new_tokens = max_new_tokens;
    o.sampling = {temperature, top_p, top_k, seed};
    o.eos_ids = eos_ids;
    o.batch = batch ? *batch : default_generation_batch(device);
    return o;
  }
};

}  // namespace s0
