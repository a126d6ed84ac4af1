#include "ops/device_runtime.h"

#include "core/error.h"
#if S0_HAVE_CUDA
#include "ops/cuda/runtime.h"
#endif

namespace s0::ops {

int cuda_device_count() {
#if S0_HAVE_CUDA
  return cuda::device_count();
#else
  return 0;
#endif
}

void synchronize(Device device) {
#if S0_HAVE_CUDA
  if (!device.is_cpu()) cuda::synchronize();
#endif
}

size_t device_memory_used(Device device) {
#if S0_HAVE_CUDA
  if (!device.is_cpu()) return cuda::memory_used();
#endif
  return 0;
}

size_t device_memory_peak(Device device) {
#if S0_HAVE_CUDA
  if (!device.is_cpu()) return cuda::memory_peak();
#endif
  return 0;
}

size_t device_memory_available(Device device) {
#if S0_HAVE_CUDA
  if (!device.is_cpu()) return cuda::memory_available();
#endif
  return 0;
}

void activate_device(Device device) {
  if (device.is_cpu()) return;
#if S0_HAVE_CUDA
  cuda::activate(device.index);
#else
  fail(device_name(device), ": this s0 was built without CUDA (build it where nvcc is found to use a GPU)");
#endif
}

Device activated_device(const std::string& device) {
  const Device d = device.empty() ? (cuda_device_count() > 0 ? Device::cuda(0) : Device::cpu())
                                  : parse_device(device, "--device");
  activate_device(d);
  return d;
}

}  // namespace s0::ops
