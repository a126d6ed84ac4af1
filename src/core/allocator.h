#pragma once
// One allocator per device type. The CPU's is the buffer pool (core/buffer_pool.h); a GPU backend
// registers its own (a caching device allocator) when it is built in. Tensors allocate, zero, free
// and copy through the allocator of their device, so core needs no knowledge of any backend.
#include <cstddef>

#include "core/device.h"

namespace s0 {

class Allocator {
 public:
  virtual ~Allocator() = default;
  // `bytes` of 64-byte aligned memory on `device`, contents unspecified.
  virtual void* allocate(size_t bytes, Device device) = 0;
  virtual void deallocate(void* p, size_t bytes, Device device) = 0;
  virtual void zero(void* p, size_t bytes, Device device) = 0;
  // Copies between this allocator's device and the host, or within the device; `dst`/`src` lie on
  // the devices named. Returns when the copy is complete.
  virtual void copy(void* dst, Device dst_device, const void* src, Device src_device, size_t bytes) = 0;
};

// The allocator for a device type; fails with a clear message when this build has none for it
// (e.g. "cuda:0: this s0 was built without CUDA").
Allocator& allocator_for(Device device);
// Called once by a backend at start-up; replaces nothing already registered.
void register_allocator(DeviceType type, Allocator* allocator);

// Copies `bytes` from `src` on `src_device` to `dst` on `dst_device`, through whichever side is
// not the CPU (the CPU's allocator when both are).
void copy_bytes(void* dst, Device dst_device, const void* src, Device src_device, size_t bytes);

}  // namespace s0
