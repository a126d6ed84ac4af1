#include "ops/activation.h"

#include "ops/cpu/activation.h"
#include "ops/cpu/gates.h"
#include "ops/dispatch.h"
#if S0_HAVE_CUDA
#include "ops/cuda/activation.h"
#include "ops/cuda/tensor_args.h"
#endif

namespace s0::ops {

void swiglu_forward(const Tensor& gu, Tensor& h) {
  const Device d = device_of("swiglu", {&gu, &h});
  if (d.is_cpu()) return cpu::swiglu_forward(gu.f32(), h.dim(0), h.dim(1), h.f32_mut());
#if S0_HAVE_CUDA
  if (d.type == DeviceType::CUDA)
    return cuda::swiglu_forward(cuda::input(gu), h.dim(0), h.dim(1), cuda::output(h));
#endif
  no_backend("swiglu", d);
}

void swiglu_backward(const Tensor& gu, const Tensor& dh, Tensor& dgu) {
  const Device d = device_of("swiglu_backward", {&gu, &dh, &dgu});
  if (d.is_cpu()) return cpu::swiglu_backward(gu.f32(), dh.f32(), dh.dim(0), dh.dim(1), dgu.f32_mut());
#if S0_HAVE_CUDA
  if (d.type == DeviceType::CUDA)
    return cuda::swiglu_backward(cuda::input(gu), cuda::input(dh), dh.dim(0), dh.dim(1), cuda::output(dgu));
#endif
  no_backend("swiglu_backward", d);
}

void relu2_forward(const Tensor& u, Tensor& h) {
  const Device d = device_of("relu2", {&u, &h});
  if (d.is_cpu()) return cpu::relu2_forward(u.f32(), u.numel(), h.f32_mut());
#if S0_HAVE_CUDA
  if (d.type == DeviceType::CUDA) return cuda::relu2_forward(cuda::f32(u), u.numel(), cuda::output(h));
#endif
  no_backend("relu2", d);
}

void relu2_backward(const Tensor& u, const Tensor& dh, Tensor& du) {
  const Device d = device_of("relu2_backward", {&u, &dh, &du});
  if (d.is_cpu()) return cpu::relu2_backward(u.f32(), dh.f32(), u.numel(), du.f32_mut());
#if S0_HAVE_CUDA
  if (d.type == DeviceType::CUDA)
    return cuda::relu2_backward(cuda::f32(u), cuda::f32(dh), u.numel(), cuda::output(du));
#endif
  no_backend("relu2_backward", d);
}

void sigmoid_gate_forward(const Tensor& o, const Columns& gate, Tensor& out) {
  const Device d = device_of("sigmoid_gate", {&o, &gate.t, &out});
  if (d.is_cpu())
    return cpu::sigmoid_gate_forward(o.f32(), gate.t.f32() + gate.begin, gate.stride(), gate.rows(), gate.count,
                                     out.f32_mut());
#if S0_HAVE_CUDA
  if (d.type == DeviceType::CUDA)
    return cuda::sigmoid_gate_forward(cuda::f32(o), cuda::f32(gate), gate.stride(), gate.rows(), gate.count,
                                      cuda::output(out));
#endif
  no_backend("sigmoid_gate", d);
}

void sigmoid_gate_backward(const Tensor& o, const Columns& gate, Tensor& d_out, const Columns& dgate) {
  Tensor dg = dgate.t;
  const Device d = device_of("sigmoid_gate_backward", {&o, &gate.t, &d_out, &dg});
  if (d.is_cpu())
    return cpu::sigmoid_gate_backward(o.f32(), gate.t.f32() + gate.begin, gate.stride(), d_out.f32(), gate.rows(),
                                      gate.count, dg.f32_mut() + dgate.begin, d_out.f32_mut());
#if S0_HAVE_CUDA
  if (d.type == DeviceType::CUDA)
    return cuda::sigmoid_gate_backward(cuda::f32(o), cuda::f32(gate), gate.stride(), cuda::f32(d_out), gate.rows(),
                                       gate.count, cuda::f32_mut(dgate), cuda::f32_mut(d_out));
#endif
  no_backend("sigmoid_gate_backward", d);
}

}  // namespace s0::ops
