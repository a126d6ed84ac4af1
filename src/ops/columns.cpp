#include "ops/columns.h"

#include "core/error.h"
#include "ops/cpu/copy.h"
#include "ops/dispatch.h"
#if S0_HAVE_CUDA
#include "ops/cuda/columns.h"
#include "ops/cuda/tensor_args.h"
#endif

namespace s0::ops {

Columns columns(const Tensor& t, int64_t begin, int64_t count) {
  Columns c{t, begin, count};
  if (begin < 0 || count < 0 || begin + count > c.stride())
    fail("internal: columns [", begin, ", ", begin + count, ") of a tensor of shape ", shape_str(t.shape()));
  return c;
}

Columns all_columns(const Tensor& t) {
  const Columns whole{t, 0, 0};
  return {t, 0, whole.stride()};
}

Tensor copy_columns(const Columns& src) {
  Tensor out = Tensor::empty({src.rows(), src.count}, src.t.dtype(), src.t.device());
  const Device d = device_of("copy_columns", {&src.t});
  if (d.is_cpu()) {
    cpu::copy_cols(src.t.f32(), src.rows(), src.stride(), src.begin, src.count, out.f32_mut());
    return out;
  }
#if S0_HAVE_CUDA
  if (d.type == DeviceType::CUDA) {
    cuda::copy_cols(cuda::f32(src.t), src.rows(), src.stride(), src.begin, src.count, cuda::f32_mut(out));
    return out;
  }
#endif
  no_backend("copy_columns", d);
}

void scatter_columns(const Tensor& src, const Columns& dst) {
  Tensor whole = dst.t;
  const Device d = device_of("scatter_columns", {&src, &whole});
  if (d.is_cpu())
    return cpu::scatter_cols(src.f32(), dst.rows(), dst.count, whole.f32_mut(), dst.stride(), dst.begin, false);
#if S0_HAVE_CUDA
  if (d.type == DeviceType::CUDA)
    return cuda::scatter_cols(cuda::f32(src), dst.rows(), dst.count, cuda::f32_mut(whole), dst.stride(), dst.begin);
#endif
  no_backend("scatter_columns", d);
}

}  // namespace s0::ops
