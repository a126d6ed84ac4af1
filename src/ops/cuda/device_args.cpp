#include "ops/cuda/device_args.h"

#include "ops/cuda/check.h"

namespace s0::ops::cuda {

const float* f32_on_gpu(const Tensor& t, const char* op) {
  if (t.dtype() != DType::F32 || t.device().is_cpu())
    fail("internal: op ", op, " on cuda takes F32 tensors on the GPU, got ", dtype_name(t.dtype()), " on ",
         device_name(t.device()));
  return static_cast<const float*>(t.device_raw());
}

float* f32_on_gpu_mut(Tensor& t, const char* op) {
  f32_on_gpu(t, op);
  return static_cast<float*>(t.device_raw_mut());
}

const float* f32_on_gpu_or_null(const Tensor& t, const char* op) { return t.empty() ? nullptr : f32_on_gpu(t, op); }

Tensor upload_i64(const std::vector<int64_t>& values, Device device) {
  Tensor out = Tensor::empty({static_cast<int64_t>(values.size())}, DType::I64, device);
  if (!values.empty())
    S0_CUDA_CHECK(cudaMemcpy(out.device_raw_mut(), values.data(), out.nbytes(), cudaMemcpyHostToDevice));
  return out;
}

Tensor upload_addresses(const std::vector<const float*>& addresses, Device device) {
  std::vector<int64_t> values;
  values.reserve(addresses.size());
  for (const float* p : addresses) values.push_back(static_cast<int64_t>(reinterpret_cast<uintptr_t>(p)));
  return upload_i64(values, device);
}

}  // namespace s0::ops::cuda
