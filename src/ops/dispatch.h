#pragma once
// How an op picks its backend: every tensor argument must live on one device, and the op calls
// that device's implementation (ops/cpu/, later ops/cuda/). Adding a backend to an op is one line
// in its dispatch.
#include <initializer_list>
#include <vector>

#include "core/tensor.h"

namespace s0::ops {

// The device of the non-empty tensors; fails naming the op and both devices when they differ.
Device device_of(const char* op, std::initializer_list<const Tensor*> tensors);
Device device_of(const char* op, const std::vector<const Tensor*>& tensors);
// Ends an op called on a device this build has no implementation of it for.
[[noreturn]] void no_backend(const char* op, Device device);

// Host pointers for the CPU kernels' optional arguments: null for an empty tensor.
inline const float* f32_or_null(const Tensor& t) { return t.empty() ? nullptr : t.f32(); }
inline float* f32_or_null(Tensor& t) { return t.empty() ? nullptr : t.f32_mut(); }

}  // namespace s0::ops
