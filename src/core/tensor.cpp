#include "core/tensor.h"

#include <algorithm>
#include <cstring>

#include "core/allocator.h"
#include "core/half.h"
#include "core/parallel_copy.h"

namespace s0 {

size_t dtype_size(DType t) {
  switch (t) {
    case DType::F32: return 4;
    case DType::F64: return 8;
    case DType::F16: return 2;
    case DType::BF16: return 2;
    case DType::I32: return 4;
    case DType::I64: return 8;
  }
  return 0;
}

const char* dtype_name(DType t) {
  switch (t) {
    case DType::F32: return "F32";
    case DType::F64: return "F64";
    case DType::F16: return "F16";
    case DType::BF16: return "BF16";
    case DType::I32: return "I32";
    case DType::I64: return "I64";
  }
  return "?";
}

std::string shape_str(const Shape& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "]";
}

int64_t numel_of(const Shape& s) {
  int64_t n = 1;
  for (int64_t d : s) n *= d;
  return n;
}

Tensor Tensor::empty(Shape shape, DType dtype, Device device) {
  Tensor t;
  t.shape_ = std::move(shape);
  t.dtype_ = dtype;
  t.device_ = device;
  const size_t bytes = t.nbytes();
  Allocator& a = allocator_for(device);
  void* p = a.allocate(bytes, device);
  t.keep_ = std::shared_ptr<const void>(p, [&a, bytes, device](const void* q) {
    a.deallocate(const_cast<void*>(q), bytes, device);
  });
  t.data_ = p;
  t.mutable_ = true;
  return t;
}

Tensor Tensor::zeros(Shape shape, DType dtype, Device device) {
  Tensor t = empty(std::move(shape), dtype, device);
  allocator_for(device).zero(t.device_raw_mut(), t.nbytes(), device);
  return t;
}

Tensor Tensor::view(Shape shape, DType dtype, const void* data, std::shared_ptr<const void> keep) {
  Tensor t;
  t.shape_ = std::move(shape);
  t.dtype_ = dtype;
  t.data_ = data;
  t.keep_ = std::move(keep);
  return t;
}

Tensor Tensor::from(Shape shape, const std::vector<float>& values) {
  Tensor t = zeros(std::move(shape));
  if (static_cast<size_t>(t.numel()) != values.size())
    fail("Tensor::from: ", values.size(), " values for shape ", shape_str(t.shape()));
  std::memcpy(t.f32_mut(), values.data(), values.size() * sizeof(float));
  return t;
}

void Tensor::check_host_elements(size_t element_size) const {
  if (!device_.is_cpu())
    fail("internal: host access to a ", dtype_name(dtype_), " tensor on ", device_name(device_),
         ", expected one on cpu");
  if (element_size != 0 && element_size != dtype_size(dtype_))
    fail("internal: reading a ", dtype_name(dtype_), " tensor as ", element_size, "-byte elements");
}

const void* Tensor::raw() const {
  check_host_elements(0);
  return data_;
}

void* Tensor::device_raw_mut() {
  if (!mutable_) fail("internal: writing to a read-only tensor view");
  return const_cast<void*>(data_);
}

void* Tensor::raw_mut() {
  check_host_elements(0);
  return device_raw_mut();
}

const float* Tensor::f32() const {
  if (dtype_ != DType::F32 || !device_.is_cpu())
    fail("internal: tensor is ", dtype_name(dtype_), " on ", device_name(device_), ", expected F32 on cpu");
  return static_cast<const float*>(data_);
}

float* Tensor::f32_mut() {
  f32();
  return static_cast<float*>(device_raw_mut());
}

namespace {

// Elements from which a conversion runs over the compute threads: a checkpoint's weights are views
// of the mapped file, so converting one is mostly page faults, which threads take in parallel.
constexpr int64_t kParallelElements = int64_t{1} << 20;

// dst[i] = convert(src[i]) for i < n.
template <typename From, typename To, typename Convert>
void convert_each(const From* src, To* dst, int64_t n, Convert convert) {
#pragma omp parallel for schedule(static) if (n >= kParallelElements)
  for (int64_t i = 0; i < n; ++i) dst[i] = convert(src[i]);
}

}  // namespace

Tensor Tensor::to_f32() const {
  check_host_elements(0);
  Tensor out = empty(shape_);
  float* dst = out.f32_mut();
  const int64_t n = numel();
  switch (dtype_) {
    case DType::F32: parallel_memcpy(dst, data_, nbytes()); break;
    case DType::F64: convert_each(as<double>(), dst, n, [](double x) { return static_cast<float>(x); }); break;
    case DType::BF16: convert_each(as<uint16_t>(), dst, n, bf16_to_f32); break;
    case DType::F16: convert_each(as<uint16_t>(), dst, n, f16_to_f32); break;
    case DType::I32: convert_each(as<int32_t>(), dst, n, [](int32_t x) { return static_cast<float>(x); }); break;
    case DType::I64: convert_each(as<int64_t>(), dst, n, [](int64_t x) { return static_cast<float>(x); }); break;
  }
  return out;
}

Tensor Tensor::to_bf16() const {
  check_host_elements(0);
  if (dtype_ == DType::BF16) return clone();
  const Tensor wide = dtype_ == DType::F32 ? *this : to_f32();
  Tensor out = empty(shape_, DType::BF16);
  convert_each(wide.f32(), static_cast<uint16_t*>(out.raw_mut()), numel(), f32_to_bf16);
  return out;
}

Tensor Tensor::clone() const {
  Tensor out = empty(shape_, dtype_, device_);
  copy_bytes(out.device_raw_mut(), device_, data_, device_, nbytes());
  return out;
}

Tensor Tensor::to(Device device) const {
  if (device == device_) return *this;
  Tensor out = empty(shape_, dtype_, device);
  copy_bytes(out.device_raw_mut(), device, data_, device_, nbytes());
  return out;
}

Tensor Tensor::reshaped(Shape shape) const {
  if (numel_of(shape) != numel())
    fail("internal: reshape ", shape_str(shape_), " to ", shape_str(shape));
  Tensor t = *this;
  t.shape_ = std::move(shape);
  return t;
}

Tensor Tensor::slice(int64_t begin, int64_t count) const {
  if (rank() == 0 || begin < 0 || count < 0 || begin + count > dim(0))
    fail("internal: slice [", begin, ", ", begin + count, ") of a tensor of shape ", shape_str(shape_));
  Tensor t = *this;
  t.shape_[0] = count;
  const size_t stride = static_cast<size_t>(numel() / std::max<int64_t>(dim(0), 1)) * dtype_size(dtype_);
  t.data_ = static_cast<const char*>(data_) + static_cast<size_t>(begin) * stride;
  return t;
}

std::vector<int64_t> Tensor::to_i64() const {
  check_host_elements(0);
  std::vector<int64_t> out(static_cast<size_t>(numel()));
  if (dtype_ == DType::I64) {
    std::memcpy(out.data(), data_, nbytes());
  } else if (dtype_ == DType::I32) {
    const int32_t* src = as<int32_t>();
    for (size_t i = 0; i < out.size(); ++i) out[i] = src[i];
  } else {
    fail("expected an integer tensor, got ", dtype_name(dtype_));
  }
  return out;
}

}  // namespace s0
