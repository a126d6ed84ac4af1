#include "ops/gates.h"

#include "ops/cpu/gates.h"
#include "ops/dispatch.h"
#if S0_HAVE_CUDA
#include "ops/cuda/gates.h"
#include "ops/cuda/tensor_args.h"
#endif

namespace s0::ops {

namespace {
const float* at(const Columns& c) { return c.t.f32() + c.begin; }
float* at_mut(const Columns& c) {
  Tensor whole = c.t;
  return whole.f32_mut() + c.begin;
}
}  // namespace

void gated_delta_gates_forward(const Columns& b, const Columns& a, const Tensor& neg_A, const Tensor& dt_bias,
                               Tensor& beta, Tensor& g) {
  const Device d = device_of("gated_delta_gates", {&b.t, &a.t, &neg_A, &dt_bias, &beta, &g});
  if (d.is_cpu())
    return cpu::gated_delta_gates_forward(at(b), at(a), a.stride(), neg_A.f32(), dt_bias.f32(), a.rows(), a.count,
                                          beta.f32_mut(), g.f32_mut());
#if S0_HAVE_CUDA
  if (d.type == DeviceType::CUDA)
    return cuda::gated_delta_gates_forward(cuda::f32(b), cuda::f32(a), a.stride(), cuda::f32(neg_A), cuda::f32(dt_bias),
                                           a.rows(), a.count, cuda::f32_mut(beta), cuda::f32_mut(g));
#endif
  no_backend("gated_delta_gates", d);
}

void gated_delta_gates_backward(const Columns& a, const Tensor& neg_A, const Tensor& dt_bias, const Tensor& beta,
                                const Tensor& dbeta, const Tensor& dg, const Columns& db, const Columns& da) {
  const Device d = device_of("gated_delta_gates_backward", {&a.t, &neg_A, &dt_bias, &beta, &dbeta, &dg, &db.t, &da.t});
  if (d.is_cpu())
    return cpu::gated_delta_gates_backward(at(a), a.stride(), neg_A.f32(), dt_bias.f32(), beta.f32(), dbeta.f32(),
                                           dg.f32(), a.rows(), a.count, at_mut(db), at_mut(da));
#if S0_HAVE_CUDA
  if (d.type == DeviceType::CUDA)
    return cuda::gated_delta_gates_backward(cuda::f32(a), a.stride(), cuda::f32(neg_A), cuda::f32(dt_bias),
                                            cuda::f32(beta), cuda::f32(dbeta), cuda::f32(dg), a.rows(), a.count,
                                            cuda::output(db), cuda::output(da));
#endif
  no_backend("gated_delta_gates_backward", d);
}

void mamba2_dt_forward(const Columns& raw, const Tensor& dt_bias, float dt_min, float dt_max, Tensor& dt) {
  const Device d = device_of("mamba2_dt", {&raw.t, &dt_bias, &dt});
  if (d.is_cpu())
    return cpu::mamba2_dt_forward(at(raw), raw.stride(), dt_bias.f32(), dt_min, dt_max, raw.rows(), raw.count,
                                  dt.f32_mut());
#if S0_HAVE_CUDA
  if (d.type == DeviceType::CUDA)
    return cuda::mamba2_dt_forward(cuda::f32(raw), raw.stride(), cuda::f32(dt_bias), dt_min, dt_max, raw.rows(),
                                   raw.count, cuda::f32_mut(dt));
#endif
  no_backend("mamba2_dt", d);
}

void mamba2_dt_backward(const Columns& raw, const Tensor& dt_bias, float dt_min, float dt_max, const Tensor& ddt,
                        const Columns& draw) {
  const Device d = device_of("mamba2_dt_backward", {&raw.t, &dt_bias, &ddt, &draw.t});
  if (d.is_cpu())
    return cpu::mamba2_dt_backward(at(raw), raw.stride(), dt_bias.f32(), dt_min, dt_max, ddt.f32(), raw.rows(),
                                   raw.count, at_mut(draw));
#if S0_HAVE_CUDA
  if (d.type == DeviceType::CUDA)
    return cuda::mamba2_dt_backward(cuda::f32(raw), raw.stride(), cuda::f32(dt_bias), dt_min, dt_max, cuda::f32(ddt),
                                    raw.rows(), raw.count, cuda::output(draw));
#endif
  no_backend("mamba2_dt_backward", d);
}

}  // namespace s0::ops
