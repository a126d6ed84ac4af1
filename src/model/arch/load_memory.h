#pragma once
// What loading a checkpoint costs in memory, known from the safetensors headers before any weight
// is read, so that a model larger than the machine says so up front instead of failing mid-load.
#include <cstdint>

#include "io/checkpoint.h"
#include "model/arch/registry.h"

namespace s0 {

// The bytes the family loaders allocate for the weights: an f32 copy of every tensor they read,
// except routed experts stored as f32, bf16 or f16, which stay views into the mapped files
// (moe_weights.h), and, when the options keep bf16 matrices, those at 2 bytes an element (a view,
// or a copy where a transform applies: counted as a copy). The multimodal tower (model.visual.*)
// and multi-token prediction (mtp.*) are never read.
int64_t load_bytes(const Checkpoint& ck, const LoadOptions& options = {});

// Fails, naming both numbers, when load_bytes(ck, options) exceeds `available` bytes (no check
// when `available` is negative: unknown).
void check_fits_in_memory(const Checkpoint& ck, const LoadOptions& options, int64_t available);

}  // namespace s0
