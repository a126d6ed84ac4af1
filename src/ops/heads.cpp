#include "ops/heads.h"

#include "ops/cpu/heads.h"
#include "ops/dispatch.h"

namespace s0::ops {

Tensor expand_heads(const Tensor& src, int64_t nv, float scale) {
  const int64_t N = src.dim(0), nk = src.dim(1), d = src.dim(2);
  Tensor out = Tensor::empty({N, nv, d}, src.dtype(), src.device());
  const Device dev = device_of("expand_heads", {&src});
  if (dev.is_cpu()) {
    cpu::expand_heads(src.f32(), N, nk, nv, d, scale, out.f32_mut());
    return out;
  }
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
  no_backend("reduce_heads", dev);
}

}  // namespace s0::ops
