#include "ops/cross_entropy.h"

#include "ops/cpu/cross_entropy.h"
#if S0_HAVE_CUDA
#include "ops/cuda/cross_entropy.h"
#endif
#include "ops/dispatch.h"

namespace s0::ops {

std::vector<float> cross_entropy_forward(const Tensor& logits, const int32_t* targets) {
  const Device d = device_of("cross_entropy", {&logits});
#if S0_HAVE_CUDA
  if (!d.is_cpu()) return cuda::cross_entropy_forward(logits, targets);
#endif
  if (!d.is_cpu()) no_backend("cross_entropy", d);
  std::vector<float> losses(static_cast<size_t>(logits.dim(0)));
  cpu::cross_entropy_forward(logits.f32(), targets, logits.dim(0), logits.dim(1), losses.data());
  return losses;
}

void cross_entropy_forward_backward(const Tensor& logits, int64_t begin, int64_t end, const int32_t* targets,
                                    const float* weights, Tensor& sums, int64_t slot, Tensor& grad) {
  const Device d = device_of("cross_entropy_backward", {&logits, &sums, &grad});
  if (sums.dtype() != DType::F64 || slot < 0 || slot >= sums.numel())
    fail("internal: cross entropy loss slot ", slot, " outside a float64 buffer of ", sums.numel());
  if (grad.shape() != logits.shape() || (grad.dtype() != DType::F32 && (d.is_cpu() || grad.dtype() != DType::BF16)))
    fail("internal: a cross entropy gradient of ", dtype_name(grad.dtype()), " ", shape_str(grad.shape()),
         " for logits of ", shape_str(logits.shape()));
#if S0_HAVE_CUDA
  if (!d.is_cpu()) return cuda::cross_entropy_forward_backward(logits, begin, end, targets, weights, sums, slot, grad);
#endif
  if (!d.is_cpu()) no_backend("cross_entropy_backward", d);
  const int64_t V = logits.dim(1);
  static_cast<double*>(sums.raw_mut())[slot] = cpu::cross_entropy_forward_backward(
      logits.f32() + begin * V, targets, weights, end - begin, V, grad.f32_mut() + begin * V);
}

}  // namespace s0::ops
