#pragma once
// What the sequence kernels take from a packed batch besides tensors (whose device pointers come
// from ops/cuda/tensor_args.h): small per-sequence tables (offsets, start-state pointers) copied to
// the GPU once per call. Plain C++: the dispatch side and the .cu files both include it.
#include <cstdint>
#include <vector>

#include "core/tensor.h"

namespace s0::ops::cuda {

// An address as a table entry (kernels read it back as a pointer; null = none).
inline int64_t address_value(const void* p) { return static_cast<int64_t>(reinterpret_cast<uintptr_t>(p)); }

// int64 values on `device`, for a kernel to index (sequence offsets, addresses of start states).
Tensor upload_i64(const std::vector<int64_t>& values, Device device);

}  // namespace s0::ops::cuda
