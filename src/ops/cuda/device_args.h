#pragma once
// What the sequence kernels take from a packed batch besides tensors (whose device pointers come
// from ops/cuda/tensor_args.h): small per-sequence tables (offsets, start-state pointers) copied to
// the GPU once per call unless unchanged. Plain C++: the dispatch side and the .cu files both include it.
#include <cstdint>
#include <vector>

#include "core/tensor.h"

namespace s0::ops::cuda {

// An address as a table entry (kernels read it back as a pointer; null = none).
inline int64_t address_value(const void* p) { return static_cast<int64_t>(reinterpret_cast<uintptr_t>(p)); }

// int64 values on `device`, for a kernel to index (sequence offsets, addresses of start states).
// Read-only: a small table equal to one uploaded lately is that upload (core/recent_tables.h), so
// the per-layer tables of a decode step, most of them unchanged since the last step or the last
// layer, cost no copy, and the GPU does not wait on one between the step's kernels.
Tensor upload_i64(const std::vector<int64_t>& values, Device device);

}  // namespace s0::ops::cuda
