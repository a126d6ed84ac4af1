#pragma once
// What the sequence kernels take from a packed batch besides tensors (whose device pointers come
// from ops/cuda/tensor_args.h): small per-sequence tables (offsets, start-state pointers) copied to
// the GPU once per call. Plain C++: the dispatch side and the .cu files both include it.
#include <cstdint>
#include <vector>

#include "core/tensor.h"

namespace s0::ops::cuda {

// int64 values on `device`, for a kernel to index (sequence offsets, addresses of start states).
Tensor upload_i64(const std::vector<int64_t>& values, Device device);
// The same for addresses: kernels read them back as pointers (null = none).
Tensor upload_addresses(const std::vector<const float*>& addresses, Device device);

}  // namespace s0::ops::cuda
