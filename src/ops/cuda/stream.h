#pragma once
// The stream GPU work is queued on. Each GPU has one, made when first used: a non-blocking CUDA
// stream (it never waits on the legacy default stream, and work on it can be captured into a CUDA
// graph). Every kernel, GEMM, copy and fill of the backend goes to the current GPU's stream, so work
// runs in the order it was issued, host threads included; the host waits only where it reads a
// result (a copy to host memory) or asks to (ops::synchronize). Memory freed to the caching
// allocator is reused by later work on the same stream, which the stream's order makes safe. While
// a thread records the stream's work into a CUDA graph, other threads' copies wait
// (ops/cuda/graph.h).
#include <cuda_runtime.h>

namespace s0::ops::cuda {

cudaStream_t stream();

}  // namespace s0::ops::cuda
