#include "ops/cuda/staged_upload.h"

#include <algorithm>
#include <map>
#include <mutex>

#include "core/parallel_copy.h"
#include "ops/cuda/check.h"
#include "ops/cuda/stream.h"

namespace s0::ops::cuda {

namespace {

constexpr size_t kSlice = size_t{32} << 20;  // bytes a staging buffer holds

// Two pinned buffers per GPU, each with the event (of that GPU) that marks its last slice's copy
// done. Allocated once (pinning costs milliseconds) and kept; uploads take them one at a time.
struct Staging {
  std::mutex mu;
  void* buffer[2] = {nullptr, nullptr};
  cudaEvent_t done[2] = {};

  void ensure() {
    if (buffer[0]) return;
    for (int b = 0; b < 2; ++b) {
      S0_CUDA_CHECK(cudaHostAlloc(&buffer[b], kSlice, cudaHostAllocDefault));
      S0_CUDA_CHECK(cudaEventCreateWithFlags(&done[b], cudaEventDisableTiming));
    }
  }
};

Staging& staging() {
  static std::mutex mu;
  static auto* per_gpu = new std::map<int, Staging>();  // never destroyed: a static tensor may upload at exit
  int device = 0;
  S0_CUDA_CHECK(cudaGetDevice(&device));
  const std::lock_guard<std::mutex> lock(mu);
  return (*per_gpu)[device];
}

}  // namespace

void staged_upload(void* dst, const void* src, size_t bytes) {
  Staging& s = staging();
  const std::lock_guard<std::mutex> lock(s.mu);
  s.ensure();
  const auto* from = static_cast<const char*>(src);
  auto* to = static_cast<char*>(dst);
  for (size_t at = 0, slice = 0; at < bytes; at += kSlice, ++slice) {
    const int b = static_cast<int>(slice % 2);
    const size_t n = std::min(kSlice, bytes - at);
    // The buffer's previous slice (this upload's, or the last one's) has reached the device.
    S0_CUDA_CHECK(cudaEventSynchronize(s.done[b]));
    parallel_memcpy(s.buffer[b], from + at, n);
    S0_CUDA_CHECK(cudaMemcpyAsync(to + at, s.buffer[b], n, cudaMemcpyHostToDevice, stream()));
    S0_CUDA_CHECK(cudaEventRecord(s.done[b], stream()));
  }
}

}  // namespace s0::ops::cuda
