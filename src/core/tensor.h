#pragma once
// A dense row-major tensor: shape, dtype, the device its memory lives on, and storage that is either
// owned (allocated through the device's allocator) or borrowed from a memory-mapped file (the owner
// is kept alive through `keep_`). Element access from the CPU checks dtype and device and names both
// when they are wrong: reading GPU memory from the host is a bug, never a silent garbage read.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/device.h"
#include "core/error.h"

namespace s0 {

// F64 is read from files (and converted); on CPU the engine computes in float32.
enum class DType { F32, F64, F16, BF16, I32, I64 };

size_t dtype_size(DType t);
const char* dtype_name(DType t);

using Shape = std::vector<int64_t>;
std::string shape_str(const Shape& s);
int64_t numel_of(const Shape& s);

class Tensor {
 public:
  Tensor() = default;
  // Owned storage with unspecified contents (for outputs that are written whole).
  static Tensor empty(Shape shape, DType dtype = DType::F32, Device device = Device::cpu());
  // Owned, zero-filled storage.
  static Tensor zeros(Shape shape, DType dtype = DType::F32, Device device = Device::cpu());
  // Borrowed host storage: `keep` owns the memory `data` points into.
  static Tensor view(Shape shape, DType dtype, const void* data, std::shared_ptr<const void> keep);
  static Tensor from(Shape shape, const std::vector<float>& values);

  const Shape& shape() const { return shape_; }
  int64_t dim(size_t i) const { return shape_.at(i); }
  size_t rank() const { return shape_.size(); }
  int64_t numel() const { return numel_of(shape_); }
  DType dtype() const { return dtype_; }
  size_t nbytes() const { return static_cast<size_t>(numel()) * dtype_size(dtype_); }
  Device device() const { return device_; }
  bool empty() const { return data_ == nullptr; }

  // Host access: fail unless the tensor lives on the CPU (and, for f32, holds F32).
  const void* raw() const;
  void* raw_mut();
  const float* f32() const;
  float* f32_mut();
  template <typename T>
  const T* as() const {
    check_host_elements(sizeof(T));
    return static_cast<const T*>(data_);
  }
  // The storage wherever it lives, for the ops of its own device's backend.
  const void* device_raw() const { return data_; }
  void* device_raw_mut();

  // An owned float32 copy, converting bf16/f16/f64/integers.
  Tensor to_f32() const;
  // An owned bfloat16 copy (round to nearest even, as PyTorch rounds); host tensors only.
  Tensor to_bf16() const;
  // Owned deep copy on the same device.
  Tensor clone() const;
  // The same values on `device`: this tensor itself when it is already there, else an owned copy.
  Tensor to(Device device) const;
  // Same storage, new shape with the same number of elements.
  Tensor reshaped(Shape shape) const;
  // Same storage: entries [begin, begin + count) of the first dimension (e.g. one expert of a
  // stacked [experts, rows, cols] weight), with the remaining dimensions.
  Tensor slice(int64_t begin, int64_t count) const;
  // Integer elements as int64 (I32 or I64).
  std::vector<int64_t> to_i64() const;

 private:
  void check_host_elements(size_t element_size) const;

  Shape shape_;
  DType dtype_ = DType::F32;
  Device device_;
  const void* data_ = nullptr;
  bool mutable_ = false;
  std::shared_ptr<const void> keep_;
};

}  // namespace s0
