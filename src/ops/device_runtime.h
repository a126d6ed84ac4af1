#pragma once
// Making a device usable before tensors go to it. The CPU always is; a GPU needs this build's CUDA
// backend, a driver and the device itself, and activate_device says which is missing. Everything
// that puts tensors on a GPU (the CLI's --device, tests, benchmarks) calls it first: it registers
// the device's allocator (core/allocator.h) and makes the GPU current for this thread.
#include <cstddef>
#include <string>

#include "core/device.h"

namespace s0::ops {

// Fails with one line ("cuda:1: ... has 1 GPU", "cuda: this s0 was built without CUDA ...") when
// `device` cannot be used.
void activate_device(Device device);

// GPUs visible to this process; 0 in a build without CUDA or where no driver or GPU answers.
int cuda_device_count();

// The device a command's --device names ("cpu", "cuda", "cuda:N"; "" = cuda:0 when a GPU is
// present, else the CPU), activated.
Device activated_device(const std::string& device);

// Waits for the work queued on `device`'s stream (core/device.h; nothing to wait for on the CPU),
// so timings are honest and asynchronous faults surface here.
void synchronize(Device device);
// Bytes of GPU memory in use on `device` (s0's cached blocks included), 0 for the CPU.
size_t device_memory_used(Device device);
// The most bytes tensors have held at once on `device` since the process began (0 for the CPU):
// the true peak, where device_memory_used also counts freed blocks kept for reuse.
size_t device_memory_peak(Device device);
// Bytes new tensors could take on `device` (the driver's free memory and s0's cached free blocks);
// 0 for the CPU, whose memory s0 does not budget.
size_t device_memory_available(Device device);

}  // namespace s0::ops
