#include "ops/heads.h"

#include "ops/cpu/heads.h"
#include "ops/dispatch.h"
#if S0_HAVE_CUDA
#include "ops/cuda/norm.h"
#include "ops/cuda/tensor_args.h"
#endif

namespace s0::ops {

Tensor l2norm_expand_heads(const Columns& x, int64_t nk, int64_t nv, float eps, float scale, Tensor& rnorm) {
  const int64_t N = x.rows(), d = x.count / nk;
  const Device dev = device_of("l2norm_expand_heads", {&x.t, &rnorm});
  if (dev.is_cpu()) {
    Tensor out = Tensor::empty({N, nv, d}, DType::F32, dev);
    cpu::l2norm_expand_heads(x.t.f32() + x.begin, x.stride(), N, nk, nv, d, eps, scale, out.f32_mut(),
                             rnorm.f32_mut());
    return out;
  }
#if S0_HAVE_CUDA
  if (dev.type == DeviceType::CUDA) {  // the norm writes each head's copies itself: one pass
    Tensor out = Tensor::empty({N, nv, d}, DType::F32, dev);
    cuda::l2norm_forward(cuda::f32(x), nk, x.stride(), N * nk, d, eps, cuda::f32_mut(out), cuda::f32_mut(rnorm),
                         nv / nk, scale);
    return out;
  }
#endif
  no_backend("l2norm_expand_heads", dev);
}

void l2norm_expand_heads_backward(const Columns& x, const Tensor& rnorm, const Tensor& d_expanded, int64_t nk,
                                  float scale, const Columns& dx) {
  const int64_t N = x.rows(), nv = d_expanded.dim(1), d = x.count / nk;
  const Device dev = device_of("l2norm_expand_heads_backward", {&x.t, &rnorm, &d_expanded, &dx.t});
  if (dev.is_cpu()) {
    Tensor dx_whole = dx.t;
    return cpu::l2norm_expand_heads_backward(x.t.f32() + x.begin, x.stride(), rnorm.f32(), d_expanded.f32(), N, nk,
                                             nv, d, scale, dx_whole.f32_mut() + dx.begin, dx.stride());
  }
#if S0_HAVE_CUDA
  if (dev.type == DeviceType::CUDA)  // the norm's backward sums each head's copies itself
    return cuda::l2norm_backward(cuda::f32(x), nk, x.stride(), cuda::f32(rnorm), cuda::f32(d_expanded), N * nk, d,
                                 cuda::f32_mut(dx), dx.stride(), nv / nk, scale);
#endif
  no_backend("l2norm_expand_heads_backward", dev);
}

}  // namespace s0::ops
