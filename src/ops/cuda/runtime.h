#pragma once
// The CUDA runtime as the rest of s0 sees it: plain C++ declarations (no CUDA headers), so that
// dispatch code compiled by the host compiler can call into the backend. Every CUDA call is
// checked; a failure is one line naming the call and CUDA's own message.
#include <cstddef>
#include <utility>
#include <vector>

namespace s0::ops::cuda {

int device_count();
// Registers the caching allocator for DeviceType::CUDA (once) and makes GPU `index` current on
// this thread; fails when it does not exist.
void activate(int index);
// Waits for the work queued on the current GPU's stream (ops/cuda/stream.h), turning an
// asynchronous fault into an error.
void synchronize();
// Bytes in use on the current GPU: its total less what the driver reports free.
size_t memory_used();
// The most bytes s0's tensors have held at once on the current GPU (cached free blocks not counted).
size_t memory_peak();
// Bytes new tensors could take on the current GPU: what the driver reports free plus s0's cached
// free blocks (handed back to the driver when an allocation would otherwise fail).
size_t memory_available();

// The caching allocator's side of recording a CUDA graph on GPU `device` (ops/cuda/graph.h): from
// begin to end, blocks freed by the recorded work are handed out only to that work; end returns
// them (address, bytes), the graph's own until it gives them back through release.
void begin_recording_pool(int device);
std::vector<std::pair<void*, size_t>> end_recording_pool();
void release_recording_pool(const std::vector<std::pair<void*, size_t>>& pool, int device);

}  // namespace s0::ops::cuda
