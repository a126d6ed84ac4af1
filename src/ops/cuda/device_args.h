#pragma once
// What the sequence kernels take from Tensors and from a packed batch: device pointers (checked
// to be f32 on a GPU) and small per-sequence tables (offsets, start-state pointers) copied to the
// GPU once per call. Plain C++: the dispatch side and the .cu files both include it.
#include <cstdint>
#include <vector>

#include "core/tensor.h"

namespace s0::ops::cuda {

// The tensor's f32 storage on a GPU; fails naming the op when it is another dtype or device.
const float* f32_on_gpu(const Tensor& t, const char* op);
float* f32_on_gpu_mut(Tensor& t, const char* op);
// Null for an empty tensor (a zero start state, an absent bias).
const float* f32_on_gpu_or_null(const Tensor& t, const char* op);

// int64 values on `device`, for a kernel to index (sequence offsets, addresses of start states).
Tensor upload_i64(const std::vector<int64_t>& values, Device device);
// The same for addresses: kernels read them back as pointers (null = none).
Tensor upload_addresses(const std::vector<const float*>& addresses, Device device);

}  // namespace s0::ops::cuda
