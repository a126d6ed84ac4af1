#include "ops/heads.h"

#include "ops/cpu/heads.h"
#include "ops/dispatch.h"
#if S0_HAVE_CUDA
#include "ops/cuda/heads.h"
#include "ops/cuda/tensor_args.h"
#endif

namespace s0::ops {

Tensor expand_heads(const Tensor& src, int64_t nv, float scale) {
  const int64_t N = src.dim(0), nk = src.dim(1), d = src.dim(2);
  Tensor out = Tensor::empty({N, nv, d}, src.dtype(), src.device());
  const Device dev = device_of("expand_heads", {&src});
  if (dev.is_cpu()) {
    cpu::expand_heads(src.f32(), N, nk, nv, d, scale, out.f32_mut());
    return out;
  }
#if S0_HAVE_CUDA
  if (dev.type == DeviceType::CUDA) {
    cuda::expand_heads(cuda::f32(src), N, nk, nv, d, scale, cuda::f32_mut(out));
    return out;
  }
#endif
  no_backend("expand_heads", dev);
}

Tensor reduce_heads(const Tensor& src, int64_t nk, float scale) {
  const int64_t N = src.dim(0), nv = src.dim(1), d = src.dim(2);
  Tensor out = Tensor::empty({N, nk, d}, src.dtype(), src.device());
  const Device dev = device_of("reduce_heads", {&src});
  if (dev.is_cpu()) {
    cpu::reduce_heads(src.f32(), N, nk, nv, d, scale, out.f32_mut());
    return out;
  }
#if S0_HAVE_CUDA
  if (dev.type == DeviceType::CUDA) {
    cuda::reduce_heads(cuda::f32(src), N, nk, nv, d, scale, cuda::f32_mut(out));
    return out;
  }
#endif
  no_backend("reduce_heads", dev);
}

}  // namespace s0::ops
