#include "ops/cuda/host_copy.h"

#include <algorithm>
#include <cstring>
#include <mutex>
#include <tuple>
#include <utility>
#include <vector>

#include "ops/cuda/check.h"
#include "ops/cuda/graph.h"
#include "ops/cuda/stream.h"

namespace s0::ops::cuda {

namespace {

// Pinned buffers and events are kept for the next copy: cudaHostAlloc costs tens of microseconds,
// and a generation makes one copy a step. A buffer is at least kMinBuffer bytes, so that a step's
// tokens (8 bytes a sequence) always find one.
constexpr size_t kMinBuffer = size_t{16} << 10;

struct Kept {
  std::mutex mu;
  std::vector<std::pair<size_t, void*>> buffers;  // (capacity, pinned)
  std::vector<cudaEvent_t> events;
};

Kept& kept() {
  static Kept* k = new Kept();  // never destroyed: the driver may be gone at exit
  return *k;
}

}  // namespace

struct PendingHostCopy {
  void* pinned = nullptr;
  size_t capacity = 0, bytes = 0;
  cudaEvent_t landed = nullptr;
  bool read = false;

  ~PendingHostCopy() {
    // A copy dropped unread may still be landing: the buffer is kept for another copy only once it
    // has (another GPU's stream would not wait for it).
    if (landed && !read) (void)cudaEventSynchronize(landed);
    Kept& k = kept();
    std::lock_guard<std::mutex> lock(k.mu);
    if (pinned) k.buffers.emplace_back(capacity, pinned);
    if (landed) k.events.push_back(landed);
  }
};

std::shared_ptr<PendingHostCopy> start_host_copy(const void* src, size_t bytes) {
  auto copy = std::make_shared<PendingHostCopy>();
  copy->bytes = bytes;
  {
    Kept& k = kept();
    std::lock_guard<std::mutex> lock(k.mu);
    for (size_t i = 0; i < k.buffers.size(); ++i)
      if (k.buffers[i].first >= bytes) {
        std::tie(copy->capacity, copy->pinned) = k.buffers[i];
        k.buffers.erase(k.buffers.begin() + static_cast<std::ptrdiff_t>(i));
        break;
      }
    if (!k.events.empty()) {
      copy->landed = k.events.back();
      k.events.pop_back();
    }
  }
  if (!copy->pinned) {
    copy->capacity = std::max(bytes, kMinBuffer);
    S0_CUDA_CHECK(cudaHostAlloc(&copy->pinned, copy->capacity, cudaHostAllocDefault));
  }
  if (!copy->landed) S0_CUDA_CHECK(cudaEventCreateWithFlags(&copy->landed, cudaEventDisableTiming));
  const std::unique_lock<std::mutex> turn = outside_recordings();
  if (bytes > 0) S0_CUDA_CHECK(cudaMemcpyAsync(copy->pinned, src, bytes, cudaMemcpyDeviceToHost, stream()));
  S0_CUDA_CHECK(cudaEventRecord(copy->landed, stream()));
  return copy;
}

void finish_host_copy(PendingHostCopy& copy, void* dst) {
  S0_CUDA_CHECK(cudaEventSynchronize(copy.landed));
  copy.read = true;
  if (copy.bytes > 0) std::memcpy(dst, copy.pinned, copy.bytes);
}

}  // namespace s0::ops::cuda
