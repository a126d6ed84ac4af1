#include "core/buffer_pool.h"

#include <unistd.h>

#include <atomic>
#include <cstring>
#include <map>
#include <mutex>
#include <new>
#include <vector>

namespace s0 {

namespace {

// Smaller blocks: malloc's own free lists serve them without asking the system. (The pool began at
// 1 MiB; a decode step's logits row at Qwen3.5's vocabulary, 0.97 MB, then came from the system
// every step.)
constexpr size_t kPooledMin = 4096;

// Bytes kept for reuse at most: half the machine's memory. A training step's tape is freed and
// allocated again every step; when it outgrows the cache, each step pays the page faults again.
size_t cache_cap() {
  static const size_t cap = [] {
    const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
    return pages > 0 && page > 0 ? static_cast<size_t>(pages) * static_cast<size_t>(page) / 2 : size_t(4) << 30;
  }();
  return cap;
}
constexpr std::align_val_t kAlign{64};

struct Pool {
  std::mutex mu;
  std::map<size_t, std::vector<void*>> free_by_size;
  size_t cached = 0;
  ~Pool() {
    for (auto& [size, blocks] : free_by_size)
      for (void* p : blocks) ::operator delete(p, kAlign);
  }
};

Pool& pool() {
  static Pool* p = new Pool();  // never destroyed: tensors may be freed during static destruction
  return *p;
}

std::atomic<size_t> system_allocations{0}, system_bytes{0}, zeroed_bytes{0};

}  // namespace

void* buffer_alloc(size_t bytes) {
  if (bytes >= kPooledMin) {
    Pool& p = pool();
    std::lock_guard<std::mutex> lock(p.mu);
    auto it = p.free_by_size.find(bytes);
    if (it != p.free_by_size.end() && !it->second.empty()) {
      void* b = it->second.back();
      it->second.pop_back();
      p.cached -= bytes;
      return b;
    }
    system_allocations.fetch_add(1, std::memory_order_relaxed);
    system_bytes.fetch_add(bytes, std::memory_order_relaxed);
  }
  return ::operator new(bytes ? bytes : 1, kAlign);
}

void buffer_free(void* ptr, size_t bytes) {
  if (bytes >= kPooledMin) {
    Pool& p = pool();
    std::lock_guard<std::mutex> lock(p.mu);
    if (p.cached + bytes <= cache_cap()) {
      p.free_by_size[bytes].push_back(ptr);
      p.cached += bytes;
      return;
    }
  }
  ::operator delete(ptr, kAlign);
}

void buffer_zero(void* p, size_t bytes) {
  std::memset(p, 0, bytes);
  zeroed_bytes.fetch_add(bytes, std::memory_order_relaxed);
}

BufferPoolCounts buffer_pool_counts() {
  return {system_allocations.load(std::memory_order_relaxed), system_bytes.load(std::memory_order_relaxed),
          zeroed_bytes.load(std::memory_order_relaxed)};
}

}  // namespace s0
