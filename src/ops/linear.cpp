#include "ops/linear.h"

#include "core/error.h"
#include "ops/cpu/linear_groups.h"
#include "ops/dispatch.h"
#if S0_HAVE_CUDA
#include "ops/cuda/linear.h"
#include "ops/cuda/tensor_args.h"
#endif

namespace s0::ops {

namespace {
// W as float32 on the CPU: itself, or (for bf16 / f16 weights kept mapped, such as routed experts)
// a widened copy for this call, from the buffer pool.
Tensor f32_weights(const Tensor& w) { return w.dtype() == DType::F32 ? w : w.to_f32(); }
// Whether the CPU computes this layer in bf16 products (Linear::bf16_products).
bool cpu_bf16(const Linear& l) {
  if (!l.bf16_products) return false;
  if (l.w.dtype() != DType::BF16) fail("internal: a bf16-products Linear with ", dtype_name(l.w.dtype()), " weights");
  return true;
}
// Whether the GPU multiplies l's gradients (and, unless precise, its inputs) rounded to one bf16
// term: a bf16 W (a precise layer's forward splits its input in two, its backward does not).
bool gpu_rounds_grad(const Linear& l) { return l.w.device().type == DeviceType::CUDA && l.w.dtype() == DType::BF16; }
bool gpu_rounds_operand(const Linear& l) { return gpu_rounds_grad(l) && !l.precise; }
// A bf16 operand is only for the layers whose GEMM would round it so (linear_input_dtype,
// linear_grad_dtype).
void check_bf16_operand(const Linear& l, const Tensor& operand, bool rounds) {
  if (operand.dtype() == DType::BF16 && !rounds)
    fail("internal: a bf16 operand for a ", l.precise ? "precise " : "", dtype_name(l.w.dtype()), " Linear on ",
         l.w.device().is_cpu() ? "the CPU" : "a GPU");
}
}  // namespace

DType linear_input_dtype(const Linear& l, int64_t rows) {
#if S0_HAVE_CUDA
  if (gpu_rounds_operand(l) && cuda::bf16_rounds_input(rows, l.in)) return DType::BF16;
#endif
  (void)rows;
  return DType::F32;
}

DType linear_grad_dtype(const Linear& l) { return gpu_rounds_grad(l) ? DType::BF16 : DType::F32; }

DType linear_output_dtype(const Linear& l, int64_t rows) {
  return l.b.empty() && linear_input_dtype(l, rows) == DType::BF16 ? DType::BF16 : DType::F32;
}

void linear_forward(const Linear& l, const Tensor& x, const Varlen& groups, Tensor& y, bool add) {
  const Device d = device_of("linear", {&l.w, &l.b, &x, &y});
  check_bf16_operand(l, x, gpu_rounds_operand(l));
  if (d.is_cpu() && cpu_bf16(l))
    return cpu::linear_groups_forward_bf16(x.f32(), groups.offsets, l.w.as<uint16_t>(),
                                           l.b.empty() ? nullptr : l.b.f32(), l.in, l.out, l.precise, y.f32_mut(), add);
  if (d.is_cpu())
    return cpu::linear_groups_forward(x.f32(), groups.offsets, f32_weights(l.w).f32(),
                                      l.b.empty() ? nullptr : l.b.f32(), l.in, l.out, l.precise, y.f32_mut(), add);
#if S0_HAVE_CUDA
  // One GEMM over all rows (ops/cuda/linear.h): bf16 on the tensor cores for bf16 weights (the
  // precise projections with split inputs), else float32, in double for the precise projections.
  if (d.type == DeviceType::CUDA) {
    const cuda::Output out = cuda::output(y);
    if (out.bf16 && (add || linear_output_dtype(l, groups.rows()) != DType::BF16))
      fail("internal: a bf16 output of a ", dtype_name(l.w.dtype()), " Linear that does not round to it");
    if (x.dtype() == DType::BF16)
      return cuda::gemm_forward(cuda::bf16(x), groups.rows(), cuda::bf16(l.w), cuda::f32(l.b), l.in, l.out, out.data,
                                add, out.bf16 ? cuda::Operands::bf16_out : cuda::Operands::bf16);
    if (l.w.dtype() == DType::BF16)
      return cuda::bf16_linear_forward(cuda::f32(x), groups.rows(), cuda::bf16(l.w), cuda::f32(l.b), l.in, l.out, out,
                                       add, l.precise);
    return (l.precise ? cuda::precise_linear_forward : cuda::linear_forward)(
        cuda::f32(x), groups.rows(), cuda::f32(l.w), cuda::f32(l.b), l.in, l.out, cuda::f32_mut(y), add);
  }
#endif
  no_backend("linear", d);
}

void linear_backward(const Linear& l, const Tensor& dy, const Varlen& groups, Tensor& dx, bool accumulate) {
  const Device d = device_of("linear_backward", {&l.w, &dy, &dx});
  check_bf16_operand(l, dy, gpu_rounds_grad(l));
  if (d.is_cpu() && cpu_bf16(l))
    return cpu::linear_groups_backward_bf16(dy.f32(), groups.offsets, l.w.as<uint16_t>(), l.in, l.out, dx.f32_mut(),
                                            accumulate);
  if (d.is_cpu())
    return cpu::linear_groups_backward(dy.f32(), groups.offsets, f32_weights(l.w).f32(), l.in, l.out, l.precise,
                                       dx.f32_mut(), accumulate);
#if S0_HAVE_CUDA
  if (d.type == DeviceType::CUDA) {
    const cuda::Output out = cuda::output(dx);
    if (out.bf16 && (accumulate || linear_grad_dtype(l) != DType::BF16))
      fail("internal: a bf16 input gradient of a ", dtype_name(l.w.dtype()), " Linear that does not round to it");
    if (dy.dtype() == DType::BF16)
      return cuda::gemm_backward(cuda::bf16(dy), groups.rows(), cuda::bf16(l.w), l.in, l.out, out.data, accumulate,
                                 out.bf16 ? cuda::Operands::bf16_out : cuda::Operands::bf16);
    if (l.w.dtype() == DType::BF16)
      return cuda::bf16_linear_backward(cuda::f32(dy), groups.rows(), cuda::bf16(l.w), l.in, l.out, out, accumulate);
    return (l.precise ? cuda::precise_linear_backward : cuda::linear_backward)(
        cuda::f32(dy), groups.rows(), cuda::f32(l.w), l.in, l.out, cuda::f32_mut(dx), accumulate);
  }
#endif
  no_backend("linear_backward", d);
}

}  // namespace s0::ops
