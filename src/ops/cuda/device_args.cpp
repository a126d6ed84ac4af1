#include "ops/cuda/device_args.h"

#include "core/allocator.h"

namespace s0::ops::cuda {

Tensor upload_i64(const std::vector<int64_t>& values, Device device) {
  Tensor out = Tensor::empty({static_cast<int64_t>(values.size())}, DType::I64, device);
  if (!values.empty()) copy_bytes(out.device_raw_mut(), device, values.data(), Device::cpu(), out.nbytes());
  return out;
}

}  // namespace s0::ops::cuda
