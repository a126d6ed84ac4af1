#include "ops/activated_linear.h"

#include "ops/activation.h"
#if S0_HAVE_CUDA
#include "ops/cuda/linear.h"
#include "ops/cuda/tensor_args.h"
#endif

namespace s0::ops {

Tensor activation_output(const Activated& a, DType dtype) {
  Tensor out = Tensor::empty({a.rows(), a.width()}, dtype, a.x.device());
  if (a.op == Activated::Op::swiglu)
    swiglu_forward(a.x, out);
  else
    sigmoid_gate_forward(a.x, a.gate, out);
  return out;
}

void linear_forward(const Linear& l, const Activated& a, const Varlen& groups, Tensor& y, bool add) {
  const int64_t rows = groups.rows();
#if S0_HAVE_CUDA
  if (a.x.device().type == DeviceType::CUDA && l.w.device().type == DeviceType::CUDA && l.w.dtype() == DType::BF16 &&
      !l.precise) {
    const bool swiglu = a.op == Activated::Op::swiglu;
    const cuda::GemvInput formed{swiglu ? cuda::GemvOp::swiglu : cuda::GemvOp::sigmoid_gate, cuda::f32(a.x),
                                 swiglu ? nullptr : cuda::f32(a.gate), swiglu ? 0 : a.gate.stride()};
    if (a.width() == l.in && cuda::bf16_forms_input(formed, rows, l.in))
      return cuda::bf16_formed_linear_forward(formed, rows, cuda::bf16(l.w), cuda::f32(l.b), l.in, l.out,
                                              cuda::f32_mut(y), add);
  }
#endif
  linear_forward(l, activation_output(a, linear_input_dtype(l, rows)), groups, y, add);
}

}  // namespace s0::ops
