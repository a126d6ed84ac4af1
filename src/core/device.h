#pragma once
// Where a tensor's memory lives. The engine computes on the CPU; a GPU backend registers an
// allocator for DeviceType::CUDA (core/allocator.h), and ops dispatch on the device of their inputs.
//
// Work on a device is ordered on that device's stream. On the CPU an op's work is done when the
// call returns. A GPU has one stream (ops/cuda/stream.h): ops queue their kernels on it and return;
// the host waits only where it reads a result back (Tensor::to(cpu), a loss) or calls
// ops::synchronize(device).
#include <string>

namespace s0 {

enum class DeviceType { CPU, CUDA };

struct Device {
  DeviceType type = DeviceType::CPU;
  int index = 0;  // which GPU; always 0 for the CPU

  static Device cpu() { return {}; }
  static Device cuda(int index = 0) { return {DeviceType::CUDA, index}; }
  bool is_cpu() const { return type == DeviceType::CPU; }
  bool operator==(const Device&) const = default;
};

// "cpu", "cuda:0": the form used in messages and on the command line.
std::string device_name(Device d);
// Reads that form ("cuda" alone means cuda:0); fails naming `what` on anything else.
Device parse_device(const std::string& text, const std::string& what);

}  // namespace s0
