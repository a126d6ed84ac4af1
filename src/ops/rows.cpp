#include "ops/rows.h"

#include "ops/cpu/rows.h"
#include "ops/dispatch.h"

namespace s0::ops {

Tensor gather_rows(const Tensor& table, const std::vector<int64_t>& index, float scale) {
  const int64_t n = static_cast<int64_t>(index.size()), d = table.dim(1);
  Tensor out = Tensor::empty({n, d}, table.dtype(), table.device());
  const Device dev = device_of("gather_rows", {&table});
  if (dev.is_cpu()) {
    cpu::gather_rows(table.f32(), index.data(), n, d, scale, out.f32_mut());
    return out;
  }
  no_backend("gather_rows", dev);
}

void scatter_add_rows(const Tensor& src, const std::vector<int64_t>& index, float scale, Tensor& dst) {
  const Device dev = device_of("scatter_add_rows", {&src, &dst});
  if (dev.is_cpu())
    return cpu::scatter_add_rows(src.f32(), index.data(), static_cast<int64_t>(index.size()), dst.dim(1), scale,
                                 dst.f32_mut());
  no_backend("scatter_add_rows", dev);
}

void scale_(Tensor& x, float s) {
  const Device dev = device_of("scale", {&x});
  if (dev.is_cpu()) return cpu::scale(x.f32_mut(), x.numel(), s);
  no_backend("scale", dev);
}

}  // namespace s0::ops
