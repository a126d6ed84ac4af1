#include "core/allocator.h"

#include <array>
#include <cstring>

#include "core/buffer_pool.h"
#include "core/error.h"

namespace s0 {

namespace {

class CpuAllocator final : public Allocator {
 public:
  void* allocate(size_t bytes, Device) override { return buffer_alloc(bytes); }
  void deallocate(void* p, size_t bytes, Device) override { buffer_free(p, bytes); }
  void zero(void* p, size_t bytes, Device) override { buffer_zero(p, bytes); }
  void copy(void* dst, Device, const void* src, Device, size_t bytes) override { std::memcpy(dst, src, bytes); }
};

constexpr size_t kDeviceTypes = 2;

std::array<Allocator*, kDeviceTypes>& registry() {
  static CpuAllocator cpu;
  static std::array<Allocator*, kDeviceTypes> allocators = {&cpu, nullptr};
  return allocators;
}

}  // namespace

Allocator& allocator_for(Device device) {
  Allocator* a = registry()[static_cast<size_t>(device.type)];
  if (!a) fail(device_name(device), ": this s0 was built without support for this device");
  return *a;
}

void register_allocator(DeviceType type, Allocator* allocator) {
  Allocator*& slot = registry()[static_cast<size_t>(type)];
  if (!slot) slot = allocator;
}

void copy_bytes(void* dst, Device dst_device, const void* src, Device src_device, size_t bytes) {
  if (bytes == 0) return;
  allocator_for(dst_device.is_cpu() ? src_device : dst_device).copy(dst, dst_device, src, src_device, bytes);
}

}  // namespace s0
