#include "ops/host_copy.h"

#include "ops/dispatch.h"
#if S0_HAVE_CUDA
#include "ops/cuda/host_copy.h"
#endif

namespace s0::ops {

HostCopy::HostCopy(const Tensor& t) {
  const Device dev = t.device();
  if (dev.is_cpu()) {
    host_ = t.clone();
    return;
  }
#if S0_HAVE_CUDA
  if (dev.type == DeviceType::CUDA) {
    host_ = Tensor::empty(t.shape(), t.dtype(), Device::cpu());
    pending_ = cuda::start_host_copy(t.device_raw(), t.nbytes());
    return;
  }
#endif
  no_backend("host_copy", dev);
}

const Tensor& HostCopy::get() {
#if S0_HAVE_CUDA
  if (pending_) {
    cuda::finish_host_copy(*pending_, host_.raw_mut());
    pending_.reset();
  }
#endif
  return host_;
}

}  // namespace s0::ops
