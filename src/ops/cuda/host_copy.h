#pragma once
// The GPU's side of ops/host_copy.h: a copy from the current GPU into pinned host memory of its
// own, queued on the stream, and an event that says when it has landed. Plain C++ declarations.
#include <cstddef>
#include <memory>

namespace s0::ops::cuda {

struct PendingHostCopy;

// Queues a copy of `bytes` at device address `src` (current GPU) into a pinned buffer.
std::shared_ptr<PendingHostCopy> start_host_copy(const void* src, size_t bytes);
// Waits for the copy, then moves it to host memory `dst`.
void finish_host_copy(PendingHostCopy& copy, void* dst);

}  // namespace s0::ops::cuda
