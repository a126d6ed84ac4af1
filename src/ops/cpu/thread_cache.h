#pragma once
// Per-thread objects kept from call to call. The chunked recurrences need about a megabyte of
// buffers per head; allocated afresh on every call, that memory arrives as new pages whose faults
// and zeroing cost over a tenth of the kernel time. Each (OpenMP) thread keeps its own instead and
// rebuilds it only when the shape it was built for changes. A reference stays valid until the same
// thread asks again for the same type.
#include <cstddef>
#include <memory>
#include <utility>
#include <vector>

namespace s0::ops::cpu {

// The calling thread's Work(args...), rebuilt when `shape` differs from the one it was built for.
template <typename Work, typename Shape, typename... Args>
Work& thread_cached(const Shape& shape, Args&&... args) {
  thread_local std::unique_ptr<Work> work;
  thread_local Shape built_for{};
  if (!work || !(built_for == shape)) {
    work.reset();  // frees the old buffers before the new ones are taken
    work = std::make_unique<Work>(std::forward<Args>(args)...);
    built_for = shape;
  }
  return *work;
}

// The calling thread's buffer of at least `count` elements of T (float unless named; contents left
// from earlier use). Tag tells apart buffers that are in use at the same time.
template <typename Tag, typename T = float>
T* thread_buffer(size_t count) {
  thread_local std::vector<T> buffer;
  if (buffer.size() < count) buffer.resize(count);
  return buffer.data();
}

}  // namespace s0::ops::cpu
