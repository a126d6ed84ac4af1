#pragma once
// 16-byte copies from global to shared memory that bypass the registers (cp.async): a thread starts
// them, closes them into a group, and later waits for its groups, so a block computes while they
// travel. Device code: included by .cu files and their device headers only.

namespace s0::ops::cuda {

// Starts copying 16 bytes from `from` (16-byte aligned) to `to` in shared memory; where `in` is
// false nothing is read (source size 0) and sixteen zero bytes land instead, but `from` must still
// be a valid address.
__device__ inline void copy16_async(void* to, const void* from, bool in) {
  const unsigned at = static_cast<unsigned>(__cvta_generic_to_shared(to));
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(at), "l"(from), "r"(in ? 16 : 0) : "memory");
}

// Closes the group of copies this thread started since the last commit (possibly none).
__device__ inline void commit_stage() { asm volatile("cp.async.commit_group;\n" ::: "memory"); }

// Waits until at most `pending` of this thread's latest committed groups are still in flight; a
// __syncthreads() after it makes every thread's landed copies visible to the block.
template <int pending>
__device__ inline void wait_stages() {
  asm volatile("cp.async.wait_group %0;\n" ::"n"(pending) : "memory");
}

}  // namespace s0::ops::cuda
