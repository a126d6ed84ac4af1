#include "ops/linear_swiglu.h"

#include "ops/activation.h"
#if S0_HAVE_CUDA
#include "ops/cuda/linear.h"
#include "ops/cuda/tensor_args.h"
#endif

namespace s0::ops {

void linear_swiglu_forward(const Linear& gate_up, const Tensor& x, const Varlen& groups, Tensor& gu, Tensor& h) {
#if S0_HAVE_CUDA
  const int64_t rows = groups.rows(), units = gate_up.out / 2;
  const bool gpu = gate_up.w.device().type == DeviceType::CUDA && x.device() == gate_up.w.device();
  if (gpu && gate_up.w.dtype() == DType::BF16 && !gate_up.precise && x.dtype() == DType::F32 &&
      gu.dtype() == DType::F32 && h.dtype() == DType::F32 && gate_up.out % 2 == 0 && cuda::bf16_swiglu_fits(rows, gate_up.in, units))
    return cuda::bf16_linear_swiglu_forward(cuda::f32(x), rows, cuda::bf16(gate_up.w), cuda::f32(gate_up.b),
                                            gate_up.in, units, cuda::f32_mut(gu), cuda::f32_mut(h));
#endif
  linear_forward(gate_up, x, groups, gu);
  swiglu_forward(gu, h);
}

}  // namespace s0::ops
