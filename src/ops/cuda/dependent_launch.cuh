#pragma once
// Programmatic dependent launch (Hopper): a kernel launched with launch_dependent() may start while
// the kernel before it on the stream is still running, so its blocks are placed and its first loads
// of data that no kernel writes (weights) are in flight when that kernel ends. It must call
// wait_for_predecessors() before it reads anything an earlier kernel wrote (or writes anything one
// may still read), and it must call it on every path: the wait also keeps the stream's order for the
// kernels after it. A kernel that calls allow_dependents() lets a dependent launch as soon as every
// one of its blocks has called it, instead of when its blocks end; for a kernel whose successor is
// launched plainly it changes nothing. Decode steps run hundreds of kernels of a few microseconds:
// the ramp of each GEMV (its blocks placed, its first weight loads in flight) overlaps the kernel
// before it. Results are unchanged: only when work starts moves, not what it computes.
// Device code: included by .cu files only.
#include <cuda_runtime.h>

#include <utility>

#include "ops/cuda/check.h"
#include "ops/cuda/stream.h"

namespace s0::ops::cuda {

__device__ inline void allow_dependents() { asm volatile("griddepcontrol.launch_dependents;" ::: "memory"); }

// Returns once every earlier kernel on the stream has ended and its writes are visible.
__device__ inline void wait_for_predecessors() { asm volatile("griddepcontrol.wait;" ::: "memory"); }

// Queues kernel<<<grid, block, shared_bytes, stream()>>>(args...) as a programmatic dependent of the
// kernel before it.
template <typename... Params, typename... Args>
void launch_dependent(void (*kernel)(Params...), dim3 grid, dim3 block, size_t shared_bytes, const char* name,
                      Args&&... args) {
  cudaLaunchConfig_t config = {};
  config.gridDim = grid;
  config.blockDim = block;
  config.dynamicSmemBytes = shared_bytes;
  config.stream = stream();
  cudaLaunchAttribute attribute[1];
  attribute[0].id = cudaLaunchAttributeProgrammaticStreamSerialization;
  attribute[0].val.programmaticStreamSerializationAllowed = 1;
  config.attrs = attribute;
  config.numAttrs = 1;
  check(cudaLaunchKernelEx(&config, kernel, std::forward<Args>(args)...), name);
}

}  // namespace s0::ops::cuda
