#pragma once
// A large memcpy spread over the compute threads (OpenMP), in pieces of 1 MiB. What it is for: the
// source is often a view of a memory-mapped checkpoint, so a copy is mostly page faults, which
// threads take in parallel (one thread copied Qwen3.5-4B's fused projections at a few GB/s).
#include <cstddef>

namespace s0 {

void parallel_memcpy(void* dst, const void* src, size_t bytes);

}  // namespace s0
