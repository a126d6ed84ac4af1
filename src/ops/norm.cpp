#include "ops/norm.h"

#include <cstring>

#include "ops/cpu/l2norm.h"
#include "ops/cpu/norm.h"
#include "ops/dispatch.h"
#if S0_HAVE_CUDA
#include "ops/cuda/norm.h"
#include "ops/cuda/tensor_args.h"
#endif

namespace s0::ops {

void rmsnorm_forward(const Tensor& x, const Tensor& w, float eps, Tensor& y, Tensor& rstd) {
  const Device dev = device_of("rmsnorm", {&x, &w, &y, &rstd});
  const int64_t d = w.numel();
  if (dev.is_cpu())
    return cpu::rmsnorm_forward(x.f32(), w.f32(), x.numel() / d, d, eps, y.f32_mut(), f32_or_null(rstd));
#if S0_HAVE_CUDA
  if (dev.type == DeviceType::CUDA)
    return cuda::rmsnorm_forward(cuda::f32(x), cuda::f32(w), x.numel() / d, d, eps, cuda::output(y),
                                 cuda::f32_mut(rstd));
#endif
  no_backend("rmsnorm", dev);
}

void rmsnorm_backward(const Tensor& x, const Tensor& w, const Tensor& rstd, const Tensor& dy, Tensor& dx,
                      bool accumulate, Tensor* dx_rounded) {
  const Device dev = device_of("rmsnorm_backward", {&x, &w, &rstd, &dy, &dx});
  if (dx_rounded) {
    device_of("rmsnorm_backward", {&dx, dx_rounded});
    if (dx_rounded->dtype() != DType::BF16 || dx_rounded->numel() != dx.numel())
      fail("internal: rmsnorm_backward's rounded copy must be bf16 with dx's ", dx.numel(), " entries");
  }
  const int64_t d = w.numel();
  if (dev.is_cpu()) {
    cpu::rmsnorm_backward(x.f32(), w.f32(), rstd.f32(), dy.f32(), x.numel() / d, d, dx.f32_mut(), accumulate);
    // Written in place, as the GPU writes it (the model asks for the copy only on a GPU).
    if (dx_rounded) std::memcpy(dx_rounded->raw_mut(), dx.to_bf16().raw(), dx_rounded->nbytes());
    return;
  }
#if S0_HAVE_CUDA
  if (dev.type == DeviceType::CUDA)
    return cuda::rmsnorm_backward(cuda::f32(x), 1, d, cuda::f32(w), cuda::f32(rstd), cuda::f32(dy), x.numel() / d, d,
                                  cuda::f32_mut(dx), d, accumulate,
                                  dx_rounded ? dx_rounded->device_raw_mut() : nullptr);
#endif
  no_backend("rmsnorm_backward", dev);
}

void rmsnorm_backward(const Columns& x, const Tensor& w, const Tensor& rstd, const Tensor& dy, const Columns& dx) {
  const Device dev = device_of("rmsnorm_backward", {&x.t, &w, &rstd, &dy, &dx.t});
  const int64_t d = w.numel(), n = x.rows() * x.count / d;
  if (dev.is_cpu()) {  // the CPU kernel reads x and writes dx contiguous
    Tensor dx_rows = Tensor::empty({x.rows(), x.count});
    cpu::rmsnorm_backward(copy_columns(x).f32(), w.f32(), rstd.f32(), dy.f32(), n, d, dx_rows.f32_mut(), false);
    return scatter_columns(dx_rows, dx);
  }
#if S0_HAVE_CUDA
  if (dev.type == DeviceType::CUDA)
    return cuda::rmsnorm_backward(cuda::f32(x), x.count / d, x.stride(), cuda::f32(w), cuda::f32(rstd), cuda::f32(dy),
                                  n, d, cuda::f32_mut(dx), dx.stride(), false);
#endif
  no_backend("rmsnorm_backward", dev);
}

void gated_rmsnorm_forward(const Tensor& y, const Columns& z, const Tensor& w, int64_t group, float eps,
                           GateOrder order, Tensor& out, Tensor& rstd) {
  const Device dev = device_of("gated_rmsnorm", {&y, &z.t, &w, &out, &rstd});
  const int64_t d = y.dim(y.rank() - 1), n = y.numel() / d;
  if (dev.is_cpu())  // z read in place
    return cpu::gated_rmsnorm_forward_strided(y.f32(), z.t.f32() + z.begin, z.stride(), f32_or_null(w), n, d, group,
                                              eps, order, out.f32_mut(), f32_or_null(rstd));
#if S0_HAVE_CUDA
  if (dev.type == DeviceType::CUDA)
    return cuda::gated_rmsnorm_forward(cuda::f32(y), cuda::f32(z), z.stride(), cuda::f32(w), n, d, group, eps, order,
                                       cuda::output(out), cuda::f32_mut(rstd));
#endif
  no_backend("gated_rmsnorm", dev);
}

void gated_rmsnorm_backward(const Tensor& y, const Columns& z, const Tensor& w, const Tensor& rstd,
                            const Tensor& dout, int64_t group, GateOrder order, Tensor& dy, const Columns& dz) {
  const Device dev = device_of("gated_rmsnorm_backward", {&y, &z.t, &w, &rstd, &dout, &dy, &dz.t});
  const int64_t d = y.dim(y.rank() - 1), n = y.numel() / d;
  if (dev.is_cpu()) {  // z read and dz written in place
    Tensor dz_whole = dz.t;
    return cpu::gated_rmsnorm_backward_strided(y.f32(), z.t.f32() + z.begin, z.stride(), f32_or_null(w),
                                               f32_or_null(rstd), dout.f32(), n, d, group, order, dy.f32_mut(),
                                               dz_whole.f32_mut() + dz.begin, dz.stride());
  }
#if S0_HAVE_CUDA
  if (dev.type == DeviceType::CUDA)
    return cuda::gated_rmsnorm_backward(cuda::f32(y), cuda::f32(z), z.stride(), cuda::f32(w), cuda::f32(rstd),
                                        cuda::f32(dout), n, d, group, order, cuda::f32_mut(dy), cuda::output(dz),
                                        dz.stride());
#endif
  no_backend("gated_rmsnorm_backward", dev);
}

void l2norm_forward(const Columns& x, int64_t d, float eps, Tensor& y, Tensor& rnorm) {
  const Device dev = device_of("l2norm", {&x.t, &y, &rnorm});
  const int64_t n = x.rows() * x.count / d;
  if (dev.is_cpu())  // the CPU kernel reads x contiguous
    return cpu::l2norm_forward(copy_columns(x).f32(), n, d, eps, y.f32_mut(), rnorm.f32_mut());
#if S0_HAVE_CUDA
  if (dev.type == DeviceType::CUDA)
    return cuda::l2norm_forward(cuda::f32(x), x.count / d, x.stride(), n, d, eps, cuda::f32_mut(y),
                                cuda::f32_mut(rnorm));
#endif
  no_backend("l2norm", dev);
}

void l2norm_backward(const Columns& x, const Tensor& rnorm, const Tensor& dy, int64_t d, const Columns& dx) {
  const Device dev = device_of("l2norm_backward", {&x.t, &rnorm, &dy, &dx.t});
  const int64_t n = x.rows() * x.count / d;
  if (dev.is_cpu()) {  // the CPU kernel reads x and writes dx contiguous
    Tensor dx_rows = Tensor::empty({x.rows(), x.count});
    cpu::l2norm_backward(copy_columns(x).f32(), rnorm.f32(), dy.f32(), n, d, dx_rows.f32_mut());
    return scatter_columns(dx_rows, dx);
  }
#if S0_HAVE_CUDA
  if (dev.type == DeviceType::CUDA)
    return cuda::l2norm_backward(cuda::f32(x), x.count / d, x.stride(), cuda::f32(rnorm), cuda::f32(dy), n, d,
                                 cuda::f32_mut(dx), dx.stride());
#endif
  no_backend("l2norm_backward", dev);
}

}  // namespace s0::ops
