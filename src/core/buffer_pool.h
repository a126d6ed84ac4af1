#pragma once
// Reuse of large tensor buffers. The forward and backward allocate the same activation sizes layer
// after layer; fresh multi-megabyte allocations come from mmap, and touching their pages costs
// more than the arithmetic of the small ops that fill them. Freed blocks of 1 MiB or more are kept
// by exact size (up to half the machine's memory) and handed out again.
#include <cstddef>

namespace s0 {

// 64-byte aligned memory of `bytes` (contents unspecified).
void* buffer_alloc(size_t bytes);
void buffer_free(void* p, size_t bytes);

}  // namespace s0
