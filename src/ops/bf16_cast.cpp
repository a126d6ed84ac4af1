#include "ops/bf16_cast.h"

#include <cstring>

#include "core/error.h"
#include "ops/dispatch.h"
#if S0_HAVE_CUDA
#include "ops/cuda/dtype_cast.h"
#include "ops/cuda/tensor_args.h"
#endif

namespace s0::ops {

void round_into(const Tensor& x, Tensor& into) {
  if (into.dtype() != DType::BF16 || into.numel() != x.numel())
    fail("internal: rounding ", x.numel(), " values into a ", dtype_name(into.dtype()), " tensor of ", into.numel());
  if (x.device().is_cpu()) {
    const Tensor narrow = x.to_bf16();
    std::memcpy(into.raw_mut(), narrow.raw(), narrow.nbytes());
    return;
  }
#if S0_HAVE_CUDA
  cuda::round_to_bf16(cuda::f32(x), x.numel(), into.device_raw_mut());
#else
  no_backend("round_to_bf16", x.device());
#endif
}

Tensor rounded_to_bf16(const Tensor& x) {
  Tensor out = Tensor::empty(x.shape(), DType::BF16, x.device());
  round_into(x, out);
  return out;
}

Tensor widened_from_bf16(const Tensor& x) {
  if (x.device().is_cpu()) return x.to_f32();
#if S0_HAVE_CUDA
  Tensor out = Tensor::empty(x.shape(), DType::F32, x.device());
  cuda::widen_bf16(cuda::bf16(x), x.numel(), cuda::f32_mut(out));
  return out;
#else
  no_backend("widen_bf16", x.device());
#endif
}

}  // namespace s0::ops
