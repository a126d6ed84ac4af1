#include "ops/rows.h"

#include <algorithm>

#include "core/error.h"
#include "ops/cpu/rows.h"
#include "ops/dispatch.h"
#if S0_HAVE_CUDA
#include "ops/cuda/device_args.h"
#include "ops/cuda/rows.h"
#include "ops/cuda/tensor_args.h"
#endif

namespace s0::ops {

namespace {

// Host integers as an I64 tensor on `device` (on a GPU through the kept tables, which a graph being
// recorded may read: ops/cuda/device_args.h).
Tensor i64_on(const std::vector<int64_t>& values, Device device) {
#if S0_HAVE_CUDA
  if (device.type == DeviceType::CUDA) return cuda::upload_i64(values, device);
#endif
  Tensor t = Tensor::empty({static_cast<int64_t>(values.size())}, DType::I64);
  std::copy(values.begin(), values.end(), static_cast<int64_t*>(t.raw_mut()));
  return t.to(device);
}

}  // namespace

Tensor gather_rows(const Tensor& table, const std::vector<int64_t>& index, float scale) {
  return gather_rows(table, i64_on(index, table.device()), scale);
}

Tensor gather_rows(const Tensor& table, const Tensor& index, float scale) {
  if (index.dtype() != DType::I64 || index.rank() != 1)
    fail("internal: gather_rows takes an I64 index [n], got ", shape_str(index.shape()));
  const int64_t n = index.dim(0), d = table.dim(1);
  const Device dev = device_of("gather_rows", {&table, &index});
  Tensor out = Tensor::empty({n, d}, DType::F32, dev);
  const auto* idx = static_cast<const int64_t*>(index.device_raw());
  if (dev.is_cpu()) {
    if (table.dtype() == DType::BF16)
      cpu::gather_bf16_rows(table.as<uint16_t>(), idx, n, d, scale, out.f32_mut());
    else
      cpu::gather_rows(table.f32(), idx, n, d, scale, out.f32_mut());
    return out;
  }
#if S0_HAVE_CUDA
  if (dev.type == DeviceType::CUDA) {
    if (table.dtype() == DType::BF16)
      cuda::gather_bf16_rows(cuda::bf16(table), idx, n, d, scale, cuda::f32_mut(out));
    else
      cuda::gather_rows(cuda::f32(table), idx, n, d, scale, cuda::f32_mut(out));
    return out;
  }
#endif
  no_backend("gather_rows", dev);
}

Tensor take_or_keep_i64(const std::vector<int64_t>& values, const Tensor& from, const std::vector<int64_t>& take) {
  if (from.dtype() != DType::I64 || take.size() != values.size())
    fail("internal: take_or_keep_i64 takes I64 values and one take per value");
  const Device dev = device_of("take_or_keep_i64", {&from});
  const int64_t n = static_cast<int64_t>(values.size());
  for (const int64_t t : take)
    if (t >= from.numel()) fail("internal: take_or_keep_i64 takes entry ", t, " of ", from.numel());
  Tensor out = Tensor::empty({n}, DType::I64, dev);
  if (dev.is_cpu()) {
    const auto* src = static_cast<const int64_t*>(from.raw());
    auto* dst = static_cast<int64_t*>(out.raw_mut());
    for (int64_t i = 0; i < n; ++i) dst[i] = take[i] >= 0 ? src[take[i]] : values[i];
    return out;
  }
#if S0_HAVE_CUDA
  if (dev.type == DeviceType::CUDA) {
    cuda::take_or_keep_i64(values, static_cast<const int64_t*>(from.device_raw()), take,
                           static_cast<int64_t*>(out.device_raw_mut()));
    return out;
  }
#endif
  no_backend("take_or_keep_i64", dev);
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
