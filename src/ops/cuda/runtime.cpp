#include "ops/cuda/runtime.h"

#include <algorithm>
#include <array>
#include <map>
#include <mutex>
#include <memory>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/allocator.h"
#include "core/error.h"
#include "core/strings.h"
#include "ops/cuda/check.h"
#include "ops/cuda/graph.h"
#include "ops/cuda/staged_upload.h"
#include "ops/cuda/stream.h"

namespace s0::ops::cuda {

namespace {

// cudaMalloc and cudaFree synchronise the device and cost tens of microseconds; a training step
// allocates the same activation sizes layer after layer. Freed blocks are kept per device and handed
// out again; they go back to the driver only when an allocation fails. The batches of a step differ
// a little in length, so requests of 1 MiB and more are rounded up to one of four sizes per
// doubling (1, 1.25, 1.5, 1.75 x 2^k; under a quarter more than asked) and served by blocks of
// exactly that size: nearby lengths share blocks. (With blocks of any size serving requests up to
// 1/8 smaller, each batch's slightly larger activations took new blocks, and the GPU held twice the
// peak in use: 80 GiB for 40.6 at the 4B training shape.) Smaller requests are rounded to 512 bytes
// and served by any block with at most 1/8 to spare. The bytes handed out are counted, with their
// peak.
//
// While work is being recorded into a CUDA graph (ops/cuda/graph.h), the blocks handed out to the
// recording thread belong to the recording: one freed during it is handed out again only within it,
// and at its end those freed blocks are the graph's own, out of everyone else's reach, until the
// graph goes. Its replays write into them whenever they run, so no other tensor may ever take one
// meanwhile.
class CachingAllocator final : public Allocator {
 public:
  void* allocate(size_t bytes, Device device) override {
    bytes = rounded(bytes);
    {
      std::lock_guard<std::mutex> lock(mu_);
      const bool recording = recording_thread(device);
      if (recording)
        if (const auto [p, size] = take_cached(recording_->freed, bytes); p) return handed_out(p, size, device);
      if (const auto [p, size] = take_cached(free_[device.index], bytes); p) {
        if (recording) recording_->owned.insert(p);
        return handed_out(p, size, device);
      }
    }
    S0_CUDA_CHECK(cudaSetDevice(device.index));
    void* p = nullptr;
    if (cudaMalloc(&p, bytes) != cudaSuccess) {
      (void)cudaGetLastError();  // clear the sticky out-of-memory status before retrying
      release_cached();
      if (cudaMalloc(&p, bytes) != cudaSuccess) {
        (void)cudaGetLastError();
        size_t in_use = 0;
        {
          std::lock_guard<std::mutex> lock(mu_);
          in_use = use_[device.index].in_use;
        }
        fail("cuda:", device.index, ": out of GPU memory: ", bytes_text(static_cast<int64_t>(bytes)),
             " more wanted with ", bytes_text(static_cast<int64_t>(in_use)),
             " held by tensors (a smaller batch, or `s0 train --recompute`, needs less at once)");
      }
    }
    std::lock_guard<std::mutex> lock(mu_);
    if (recording_thread(device)) recording_->owned.insert(p);
    return handed_out(p, bytes, device);
  }

  void deallocate(void* p, size_t, Device device) override {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = sizes_.find(p);
    const size_t size = it->second;
    sizes_.erase(it);
    use_[device.index].in_use -= size;
    // Kept apart like the cached blocks (not counted in use, nor as available).
    (recording_ && recording_->owned.count(p) ? recording_->freed : free_[device.index]).emplace(size, p);
  }

  void begin_recording(int device) {
    std::lock_guard<std::mutex> lock(mu_);
    if (recording_) fail("internal: a CUDA graph recorded while another is");
    recording_ = std::make_unique<Recording>();
    recording_->device = device;
    recording_->thread = std::this_thread::get_id();
  }

  // The blocks the recording's work freed: the graph's. Blocks it took and still holds (a table
  // kept for later calls, a cache made on first use) are ordinary blocks from here on.
  std::vector<std::pair<void*, size_t>> end_recording() {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<std::pair<void*, size_t>> pool;
    for (const auto& [size, p] : recording_->freed) pool.emplace_back(p, size);
    recording_.reset();
    return pool;
  }

  // A graph's blocks, back to everyone once the graph is gone.
  void release_pool(const std::vector<std::pair<void*, size_t>>& pool, int device) {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [p, size] : pool) free_[device].emplace(size, p);
  }

  size_t peak(Device device) {
    std::lock_guard<std::mutex> lock(mu_);
    return use_[device.index].peak;
  }

  // Bytes of freed blocks kept for reuse on `device`.
  size_t cached(Device device) {
    std::lock_guard<std::mutex> lock(mu_);
    size_t bytes = 0;
    for (const auto& [size, p] : free_[device.index]) bytes += size;
    return bytes;
  }

  void zero(void* p, size_t bytes, Device device) override {
    const std::unique_lock<std::mutex> turn = outside_recordings();
    S0_CUDA_CHECK(cudaSetDevice(device.index));
    S0_CUDA_CHECK(cudaMemsetAsync(p, 0, bytes, stream()));
  }

  // In stream order. A copy to the host waits for it: the host reads the result next. A copy from
  // pageable host memory returns once the source has been staged, so the caller may free it (a
  // large one through s0's own pinned buffers, ops/cuda/staged_upload.h).
  void copy(void* dst, Device dst_device, const void* src, Device src_device, size_t bytes) override {
    const cudaMemcpyKind kind = dst_device.is_cpu()   ? cudaMemcpyDeviceToHost
                                : src_device.is_cpu() ? cudaMemcpyHostToDevice
                                                      : cudaMemcpyDeviceToDevice;
    const std::unique_lock<std::mutex> turn = outside_recordings();
    if (kind == cudaMemcpyHostToDevice && bytes >= kStagedUploadMin) return staged_upload(dst, src, bytes);
    S0_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, kind, stream()));
    if (dst_device.is_cpu()) S0_CUDA_CHECK(cudaStreamSynchronize(stream()));
  }

 private:
  void release_cached() {
    S0_CUDA_CHECK(cudaStreamSynchronize(stream()));  // cached blocks may still be read by queued work
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& [device, blocks] : free_) {
      S0_CUDA_CHECK(cudaSetDevice(device));
      for (auto& [size, p] : blocks) S0_CUDA_CHECK(cudaFree(p));
      blocks.clear();
    }
  }

  static constexpr size_t kClassed = size_t(1) << 20;

  // The size a request is served at (see the class comment).
  static size_t rounded(size_t bytes) {
    if (bytes < kClassed) return (std::max<size_t>(bytes, 1) + 511) / 512 * 512;
    size_t quarter = kClassed / 4;  // a quarter of the power of two at or below `bytes`
    while (quarter * 8 <= bytes) quarter *= 2;
    return (bytes + quarter - 1) / quarter * quarter;
  }

  // Under mu_: whether an allocation on `device` by this thread is the recording's.
  bool recording_thread(Device device) const {
    return recording_ && recording_->device == device.index && recording_->thread == std::this_thread::get_id();
  }

  // Under mu_: a block of `cached` that serves `bytes` (see the class comment) and its size, taken
  // out of it; null when none does.
  static std::pair<void*, size_t> take_cached(std::multimap<size_t, void*>& cached, size_t bytes) {
    auto it = cached.lower_bound(bytes);
    if (it == cached.end() || it->first > bytes + (bytes >= kClassed ? 0 : bytes / 8)) return {nullptr, 0};
    const std::pair<void*, size_t> taken{it->second, it->first};
    cached.erase(it);
    return taken;
  }

  // Under mu_.
  void* handed_out(void* p, size_t size, Device device) {
    sizes_[p] = size;
    Use& u = use_[device.index];
    u.in_use += size;
    u.peak = std::max(u.peak, u.in_use);
    return p;
  }

  struct Use {
    size_t in_use = 0, peak = 0;
  };
  struct Recording {
    int device = 0;
    std::thread::id thread;                   // the recording one (other threads' blocks are their own)
    std::unordered_set<void*> owned;          // blocks handed out since it began
    std::multimap<size_t, void*> freed;       // of those, the ones freed: its own cache
  };
  std::unique_ptr<Recording> recording_;
  std::mutex mu_;
  std::map<int, std::multimap<size_t, void*>> free_;  // per device: cached blocks by size
  std::unordered_map<void*, size_t> sizes_;            // blocks handed out: their size
  std::map<int, Use> use_;                             // per device
};

CachingAllocator* the_allocator() {
  // Never destroyed: tensors held by static objects may be freed during static destruction.
  static CachingAllocator* allocator = new CachingAllocator();
  return allocator;
}

}  // namespace

cudaStream_t stream() {
  static std::mutex mu;
  static std::array<cudaStream_t, 64> streams{};  // never destroyed: the driver may be gone at exit
  int device = 0;
  S0_CUDA_CHECK(cudaGetDevice(&device));
  std::lock_guard<std::mutex> lock(mu);
  cudaStream_t& s = streams.at(static_cast<size_t>(device));
  if (!s) S0_CUDA_CHECK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
  return s;
}

int device_count() {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    (void)cudaGetLastError();
    return 0;  // no driver, or no GPU: the CPU is all there is
  }
  return n;
}

void activate(int index) {
  const int n = device_count();
  if (index >= n)
    fail("cuda:", index, ": no such GPU (this machine has ", n, n == 1 ? " GPU" : " GPUs",
         n == 0 ? ", or no driver answers" : "", ")");
  register_allocator(DeviceType::CUDA, the_allocator());
  S0_CUDA_CHECK(cudaSetDevice(index));
}

void synchronize() { S0_CUDA_CHECK(cudaStreamSynchronize(stream())); }

size_t memory_peak() {
  int device = 0;
  S0_CUDA_CHECK(cudaGetDevice(&device));
  return the_allocator()->peak(Device::cuda(device));
}

size_t memory_used() {
  size_t free = 0, total = 0;
  S0_CUDA_CHECK(cudaMemGetInfo(&free, &total));
  return total - free;
}

void begin_recording_pool(int device) { the_allocator()->begin_recording(device); }

std::vector<std::pair<void*, size_t>> end_recording_pool() { return the_allocator()->end_recording(); }

void release_recording_pool(const std::vector<std::pair<void*, size_t>>& pool, int device) {
  the_allocator()->release_pool(pool, device);
}

size_t memory_available() {
  int device = 0;
  S0_CUDA_CHECK(cudaGetDevice(&device));
  size_t free = 0, total = 0;
  S0_CUDA_CHECK(cudaMemGetInfo(&free, &total));
  return free + the_allocator()->cached(Device::cuda(device));
}

}  // namespace s0::ops::cuda
