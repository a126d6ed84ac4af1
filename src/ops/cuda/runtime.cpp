#include "ops/cuda/runtime.h"

#include <array>
#include <map>
#include <mutex>
#include <vector>

#include "core/allocator.h"
#include "ops/cuda/check.h"
#include "ops/cuda/stream.h"

namespace s0::ops::cuda {

namespace {

// cudaMalloc and cudaFree synchronise the device and cost tens of microseconds; a training step
// allocates the same activation sizes layer after layer. Freed blocks are kept by exact size and
// device and handed out again; they go back to the driver only when an allocation fails.
class CachingAllocator final : public Allocator {
 public:
  void* allocate(size_t bytes, Device device) override {
    if (bytes == 0) bytes = 1;
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = free_.find({device.index, bytes});
      if (it != free_.end() && !it->second.empty()) {
        void* p = it->second.back();
        it->second.pop_back();
        return p;
      }
    }
    S0_CUDA_CHECK(cudaSetDevice(device.index));
    void* p = nullptr;
    if (cudaMalloc(&p, bytes) != cudaSuccess) {
      (void)cudaGetLastError();  // clear the sticky out-of-memory status before retrying
      release_cached();
      S0_CUDA_CHECK(cudaMalloc(&p, bytes));
    }
    return p;
  }

  void deallocate(void* p, size_t bytes, Device device) override {
    std::lock_guard<std::mutex> lock(mu_);
    free_[{device.index, bytes ? bytes : 1}].push_back(p);
  }

  void zero(void* p, size_t bytes, Device device) override {
    S0_CUDA_CHECK(cudaSetDevice(device.index));
    S0_CUDA_CHECK(cudaMemsetAsync(p, 0, bytes, stream()));
  }

  // In stream order. A copy to the host waits for it: the host reads the result next. A copy from
  // pageable host memory returns once the source has been staged, so the caller may free it.
  void copy(void* dst, Device dst_device, const void* src, Device src_device, size_t bytes) override {
    const cudaMemcpyKind kind = dst_device.is_cpu()   ? cudaMemcpyDeviceToHost
                                : src_device.is_cpu() ? cudaMemcpyHostToDevice
                                                      : cudaMemcpyDeviceToDevice;
    S0_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, kind, stream()));
    if (dst_device.is_cpu()) S0_CUDA_CHECK(cudaStreamSynchronize(stream()));
  }

 private:
  void release_cached() {
    S0_CUDA_CHECK(cudaStreamSynchronize(stream()));  // cached blocks may still be read by queued work
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& [key, blocks] : free_) {
      S0_CUDA_CHECK(cudaSetDevice(key.first));
      for (void* p : blocks) S0_CUDA_CHECK(cudaFree(p));
      blocks.clear();
    }
  }

  std::mutex mu_;
  std::map<std::pair<int, size_t>, std::vector<void*>> free_;
};

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
  // Never destroyed: tensors held by static objects may be freed during static destruction.
  static CachingAllocator* allocator = new CachingAllocator();
  register_allocator(DeviceType::CUDA, allocator);
  S0_CUDA_CHECK(cudaSetDevice(index));
}

void synchronize() { S0_CUDA_CHECK(cudaStreamSynchronize(stream())); }

size_t memory_used() {
  size_t free = 0, total = 0;
  S0_CUDA_CHECK(cudaMemGetInfo(&free, &total));
  return total - free;
}

}  // namespace s0::ops::cuda
