#include "ops/gates.h"

#include "ops/cpu/gates.h"
#include "ops/dispatch.h"

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
  no_backend("gated_delta_gates", d);
}

void gated_delta_gates_backward(const Columns& a, const Tensor& neg_A, const Tensor& dt_bias, const Tensor& beta,
                                const Tensor& dbeta, const Tensor& dg, const Columns& db, const Columns& da) {
  const Device d = device_of("gated_delta_gates_backward", {&a.t, &neg_A, &dt_bias, &beta, &dbeta, &dg, &db.t, &da.t});
  if (d.is_cpu())
    return cpu::gated_delta_gates_backward(at(a), a.stride(), neg_A.f32(), dt_bias.f32(), beta.f32(), dbeta.f32(),
                                           dg.f32(), a.rows(), a.count, at_mut(db), at_mut(da));
  no_backend("gated_delta_gates_backward", d);
}

void mamba2_dt_forward(const Columns& raw, const Tensor& dt_bias, float dt_min, float dt_max, Tensor& dt) {
  const Device d = device_of("mamba2_dt", {&raw.t, &dt_bias, &dt});
  if (d.is_cpu())
    return cpu::mamba2_dt_forward(at(raw), raw.stride(), dt_bias.f32(), dt_min, dt_max, raw.rows(), raw.count,
                                  dt.f32_mut());
  no_backend("mamba2_dt", d);
}

void mamba2_dt_backward(const Columns& raw, const Tensor& dt_bias, float dt_min, float dt_max, const Tensor& ddt,
                        const Columns& draw) {
  const Device d = device_of("mamba2_dt_backward", {&raw.t, &dt_bias, &ddt, &draw.t});
  if (d.is_cpu())
    return cpu::mamba2_dt_backward(at(raw), raw.stride(), dt_bias.f32(), dt_min, dt_max, ddt.f32(), raw.rows(),
                                   raw.count, at_mut(draw));
  no_backend("mamba2_dt_backward", d);
}

}  // namespace s0::ops
