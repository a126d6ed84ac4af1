#pragma once
// What the dispatch in ops/<family>.cpp hands to the CUDA kernels: raw device pointers into the
// tensors (plain C++, no CUDA headers). The CUDA backend computes in float32; only weight matrices
// (read by the GEMMs and the embedding) and the activations a bf16 GEMM reads next (ops/cuda/output.h)
// may be bf16. A tensor of another dtype than the kernel reads is an error naming what was expected,
// never a reinterpretation of its bytes.
#include "core/error.h"
#include "core/tensor.h"
#include "ops/columns.h"
#include "ops/cuda/output.h"

namespace s0::ops::cuda {

// The tensor's device storage as float32; null for an empty tensor (an optional argument).
inline const float* f32(const Tensor& t) {
  if (t.empty()) return nullptr;
  if (t.dtype() != DType::F32)
    fail("internal: the CUDA backend computes in f32 but got a ", dtype_name(t.dtype()), " tensor of shape ",
         shape_str(t.shape()));
  return static_cast<const float*>(t.device_raw());
}

// The tensor's device storage as bf16 elements (opaque here: the host compiler has no bf16 type).
inline const void* bf16(const Tensor& t) {
  if (t.dtype() != DType::BF16)
    fail("internal: expected a bf16 tensor but got ", dtype_name(t.dtype()), " of shape ", shape_str(t.shape()));
  return t.device_raw();
}

inline float* f32_mut(Tensor& t) {
  f32(t);  // the dtype check
  return t.empty() ? nullptr : static_cast<float*>(t.device_raw_mut());
}

// An activation output that may be float32 or bf16 (ops/cuda/output.h).
inline Output output(Tensor& t) {
  if (t.dtype() == DType::BF16) return {t.device_raw_mut(), true};
  return {f32_mut(t), false};
}

// An activation input that may be float32 or bf16 (ops/cuda/output.h).
inline Input input(const Tensor& t) {
  if (t.dtype() == DType::BF16) return {t.device_raw(), true};
  return {f32(t), false};
}

// The first element of a column block (rows are c.stride() apart).
inline const float* f32(const Columns& c) { return f32(c.t) + c.begin; }

// Writable through the view: the handle shares the whole matrix's storage.
inline float* f32_mut(const Columns& c) {
  Tensor whole = c.t;
  return f32_mut(whole) + c.begin;
}

// A column block written as an activation output (float32 or bf16; rows are c.stride() elements
// apart either way).
inline Output output(const Columns& c) {
  Tensor whole = c.t;
  if (whole.dtype() == DType::BF16) return {static_cast<char*>(whole.device_raw_mut()) + 2 * c.begin, true};
  return {f32_mut(whole) + c.begin, false};
}

}  // namespace s0::ops::cuda
