#pragma once
// Reuse of tensor buffers. The forward and backward allocate the same activation sizes layer
// after layer and step after step; fresh allocations of more than a page come from the system
// (mmap, or a heap that grows and shrinks), and touching their pages costs more than the arithmetic
// of the small ops that fill them. Freed blocks of a page or more are kept by exact size (up to
// half the machine's memory) and handed out again, so a step of a shape seen before (a training
// step, a prefill, a decode step) takes every such buffer from the pool.
#include <cstddef>

namespace s0 {

// 64-byte aligned memory of `bytes` (contents unspecified).
void* buffer_alloc(size_t bytes);
void buffer_free(void* p, size_t bytes);
// Sets `bytes` at p to zero (counted in BufferPoolCounts::zeroed_bytes).
void buffer_zero(void* p, size_t bytes);

// What the pool has done since the process started, summed over threads: the blocks it could not
// reuse (taken from the system allocator; smaller blocks than a page, which malloc's free lists
// serve, are not counted) and the bytes zeroed through buffer_zero. Tests assert on differences.
struct BufferPoolCounts {
  size_t system_allocations = 0;
  size_t system_bytes = 0;
  size_t zeroed_bytes = 0;
};
BufferPoolCounts buffer_pool_counts();

}  // namespace s0
