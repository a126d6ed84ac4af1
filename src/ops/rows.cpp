#include "ops/rows.h"

#include "core/error.h"
#include "ops/cpu/rows.h"
#include "ops/dispatch.h"
#if S0_HAVE_CUDA
#include "ops/cuda/rows.h"
#include "ops/cuda/tensor_args.h"
#endif

namespace s0::ops {

Tensor gather_rows(const Tensor& table, const std::vector<int64_t>& index, float scale) {
  const int64_t n = static_cast<int64_t>(index.size()), d = table.dim(1);
  Tensor out = Tensor::empty({n, d}, DType::F32, table.device());
  const Device dev = device_of("gather_rows", {&table});
  if (dev.is_cpu()) {
    if (table.dtype() == DType::BF16)
      cpu::gather_bf16_rows(table.as<uint16_t>(), index.data(), n, d, scale, out.f32_mut());
    else
      cpu::gather_rows(table.f32(), index.data(), n, d, scale, out.f32_mut());
    return out;
  }
#if S0_HAVE_CUDA
  if (dev.type == DeviceType::CUDA) {
    if (table.dtype() == DType::BF16)
      cuda::gather_bf16_rows(cuda::bf16(table), index.data(), n, d, scale, cuda::f32_mut(out));
    else
      cuda::gather_rows(cuda::f32(table), index.data(), n, d, scale, cuda::f32_mut(out));
    return out;
  }
#endif
  no_backend("gather_rows", dev);
}

void scatter_add_rows(const Tensor& src, const std::vector<int64_t>& index, float scale, Tensor& dst) {
  const Device dev = device_of("scatter_add_rows", {&src, &dst});
  if (dev.is_cpu())
    return cpu::scatter_add_rows(src.f32(), index.data(), static_cast<int64_t>(index.size()), dst.dim(1), scale,
                                 dst.f32_mut());
#if S0_HAVE_CUDA
  if (dev.type == DeviceType::CUDA)
    return cuda::scatter_add_rows(cuda::f32(src), index.data(), static_cast<int64_t>(index.size()), dst.dim(1), scale,
                                  cuda::f32_mut(dst));
#endif
  no_backend("scatter_add_rows", dev);
}

void scale_(Tensor& x, float s) {
  const Device dev = device_of("scale", {&x});
  if (dev.is_cpu()) return cpu::scale(x.f32_mut(), x.numel(), s);
#if S0_HAVE_CUDA
  if (dev.type == DeviceType::CUDA)
    return cuda::scale(cuda::f32_mut(x), x.numel(), s);
#endif
  no_backend("scale", dev);
}

void add_(Tensor& dst, const std::vector<Tensor>& srcs) {
  std::vector<const Tensor*> all{&dst};
  for (const Tensor& src : srcs) {
    if (dst.shape() != src.shape()) fail("internal: add_ of differently shaped tensors");
    all.push_back(&src);
  }
  const Device dev = device_of("add", all);
  if (dev.is_cpu()) {
    for (const Tensor& src : srcs) cpu::add(dst.f32_mut(), src.f32(), dst.numel());
    return;
  }
#if S0_HAVE_CUDA
  if (dev.type == DeviceType::CUDA) {
    std::vector<const float*> from;
    for (const Tensor& src : srcs) from.push_back(cuda::f32(src));
    return cuda::add(cuda::f32_mut(dst), from, dst.numel());
  }
#endif
  no_backend("add", dev);
}

}  // namespace s0::ops
