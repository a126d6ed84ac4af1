#include "ops/moe.h"

#include "ops/cpu/moe.h"
#include "ops/dispatch.h"
#if S0_HAVE_CUDA
#include "ops/cuda/device_args.h"
#include "ops/cuda/moe.h"
#include "ops/cuda/tensor_args.h"
#endif

namespace s0::ops {

Routing route_top_k(const Tensor& logits, int64_t top_k, bool normalize) {
  const int64_t N = logits.dim(0), E = logits.dim(1);
  const Device d = device_of("route_top_k", {&logits});
  if (top_k < 1 || top_k > E) fail("internal: top-", top_k, " routing over ", E, " experts");
  Routing r;
  r.top_k = top_k;
  r.normalize = normalize;
  r.probs = Tensor::empty({N, E}, DType::F32, d);
  r.weights = Tensor::empty({N, top_k}, DType::F32, d);
  r.experts.resize(static_cast<size_t>(N * top_k));
  if (d.is_cpu()) {
    cpu::route_top_k(logits.f32(), N, E, top_k, normalize, r.probs.f32_mut(), r.experts.data(), r.weights.f32_mut());
    return r;
  }
#if S0_HAVE_CUDA
  if (d.type == DeviceType::CUDA) {
    // The choice comes back to the host: the experts' row lists are built there.
    Tensor experts = Tensor::empty({N, top_k}, DType::I64, d);
    cuda::route_top_k(cuda::f32(logits), N, E, top_k, normalize, cuda::f32_mut(r.probs),
                      static_cast<int64_t*>(experts.device_raw_mut()), cuda::f32_mut(r.weights));
    r.experts = experts.to(Device::cpu()).to_i64();
    return r;
  }
#endif
  no_backend("route_top_k", d);
}

Routing route_sigmoid_grouped(const Tensor& logits, const Tensor& bias, int64_t top_k, bool normalize,
                              const GroupedTopK& g) {
  const int64_t N = logits.dim(0), E = logits.dim(1);
  const Device d = device_of("route_sigmoid_grouped", {&logits, &bias});
  // The loader checks the config; these are the op's own preconditions.
  if (g.n_group < 1 || E % g.n_group != 0 || E / g.n_group < 2 || g.topk_group < 1 || g.topk_group > g.n_group ||
      g.n_group > kMaxRouterGroups || top_k < 1 || top_k > g.topk_group * (E / g.n_group))
    fail("internal: grouped top-", top_k, " routing over ", E, " experts in ", g.n_group, " groups keeping ",
         g.topk_group);
  Routing r;
  r.score = RouterScore::Sigmoid;
  r.top_k = top_k;
  r.normalize = normalize;
  r.scale = g.scale;
  r.probs = Tensor::empty({N, E}, DType::F32, d);
  r.weights = Tensor::empty({N, top_k}, DType::F32, d);
  r.experts.resize(static_cast<size_t>(N * top_k));
  if (d.is_cpu()) {
    cpu::route_sigmoid_grouped(logits.f32(), bias.f32(), N, E, top_k, normalize, g.n_group, g.topk_group, g.scale,
                               r.probs.f32_mut(), r.experts.data(), r.weights.f32_mut());
    return r;
  }
#if S0_HAVE_CUDA
  if (d.type == DeviceType::CUDA) {
    Tensor experts = Tensor::empty({N, top_k}, DType::I64, d);
    cuda::route_sigmoid_grouped(cuda::f32(logits), cuda::f32(bias), N, E, top_k, normalize, g.n_group, g.topk_group,
                                g.scale, cuda::f32_mut(r.probs), static_cast<int64_t*>(experts.device_raw_mut()),
                                cuda::f32_mut(r.weights));
    r.experts = experts.to(Device::cpu()).to_i64();
    return r;
  }
#endif
  no_backend("route_sigmoid_grouped", d);
}

void route_top_k_backward(const Routing& r, const Tensor& d_weights, Tensor& d_logits) {
  const int64_t N = r.probs.dim(0), E = r.probs.dim(1), k = r.top_k;
  const bool sigmoid = r.score == RouterScore::Sigmoid;
  const Device d = device_of("route_top_k_backward", {&r.probs, &r.weights, &d_weights, &d_logits});
  if (d.is_cpu()) {
    if (sigmoid)
      return cpu::route_sigmoid_backward(r.probs.f32(), r.experts.data(), r.weights.f32(), d_weights.f32(), N, E, k,
                                         r.normalize, r.scale, d_logits.f32_mut());
    return cpu::route_top_k_backward(r.probs.f32(), r.experts.data(), r.weights.f32(), d_weights.f32(), N, E, k,
                                     r.normalize, d_logits.f32_mut());
  }
#if S0_HAVE_CUDA
  if (d.type == DeviceType::CUDA) {
    const Tensor experts = cuda::upload_i64(r.experts, d);
    const auto* ex = static_cast<const int64_t*>(experts.device_raw());
    if (sigmoid)
      return cuda::route_sigmoid_backward(cuda::f32(r.probs), ex, cuda::f32(r.weights), cuda::f32(d_weights), N, E,
                                          k, r.normalize, r.scale, cuda::f32_mut(d_logits));
    return cuda::route_top_k_backward(cuda::f32(r.probs), ex, cuda::f32(r.weights), cuda::f32(d_weights), N, E, k,
                                      r.normalize, cuda::f32_mut(d_logits));
  }
#endif
  no_backend("route_top_k_backward", d);
}

void weighted_rows_add(const Tensor& y, const std::vector<int64_t>& rows, const Tensor& weights,
                       const std::vector<int64_t>& slots, Tensor& out) {
  const int64_t n = static_cast<int64_t>(rows.size()), dim = y.dim(1);
  const Device d = device_of("weighted_rows_add", {&y, &weights, &out});
  if (d.is_cpu())
    return cpu::weighted_rows_add(y.f32(), rows.data(), weights.f32(), slots.data(), n, dim, out.f32_mut());
#if S0_HAVE_CUDA
  if (d.type == DeviceType::CUDA) {
    const Tensor r = cuda::upload_i64(rows, d), s = cuda::upload_i64(slots, d);
    return cuda::weighted_rows_add(cuda::f32(y), static_cast<const int64_t*>(r.device_raw()), cuda::f32(weights),
                                   static_cast<const int64_t*>(s.device_raw()), n, dim, cuda::f32_mut(out));
  }
#endif
  no_backend("weighted_rows_add", d);
}

void weighted_rows_add_backward(const Tensor& y, const std::vector<int64_t>& rows, const Tensor& weights,
                                const std::vector<int64_t>& slots, const Tensor& d_out, Tensor& dy,
                                Tensor& d_weights) {
  const int64_t n = static_cast<int64_t>(rows.size()), dim = y.dim(1);
  const Device d = device_of("weighted_rows_add_backward", {&y, &weights, &d_out, &dy, &d_weights});
  if (d.is_cpu())
    return cpu::weighted_rows_add_backward(y.f32(), rows.data(), weights.f32(), slots.data(), d_out.f32(), n, dim,
                                           dy.f32_mut(), d_weights.f32_mut());
#if S0_HAVE_CUDA
  if (d.type == DeviceType::CUDA) {
    const Tensor r = cuda::upload_i64(rows, d), s = cuda::upload_i64(slots, d);
    return cuda::weighted_rows_add_backward(cuda::f32(y), static_cast<const int64_t*>(r.device_raw()),
                                            cuda::f32(weights), static_cast<const int64_t*>(s.device_raw()),
                                            cuda::f32(d_out), n, dim, cuda::f32_mut(dy), cuda::f32_mut(d_weights));
  }
#endif
  no_backend("weighted_rows_add_backward", d);
}

void sigmoid_row_gate(const Tensor& y, const Tensor& gate, Tensor& out) {
  const Device d = device_of("sigmoid_row_gate", {&y, &gate, &out});
  if (d.is_cpu()) return cpu::sigmoid_row_gate(y.f32(), gate.f32(), y.dim(0), y.dim(1), out.f32_mut());
#if S0_HAVE_CUDA
  if (d.type == DeviceType::CUDA)
    return cuda::sigmoid_row_gate(cuda::f32(y), cuda::f32(gate), y.dim(0), y.dim(1), cuda::f32_mut(out));
#endif
  no_backend("sigmoid_row_gate", d);
}

void sigmoid_row_gate_backward(const Tensor& y, const Tensor& gate, const Tensor& d_out, Tensor& dy, Tensor& dgate) {
  const Device d = device_of("sigmoid_row_gate_backward", {&y, &gate, &d_out, &dy, &dgate});
  if (d.is_cpu())
    return cpu::sigmoid_row_gate_backward(y.f32(), gate.f32(), d_out.f32(), y.dim(0), y.dim(1), dy.f32_mut(),
                                          dgate.f32_mut());
#if S0_HAVE_CUDA
  if (d.type == DeviceType::CUDA)
    return cuda::sigmoid_row_gate_backward(cuda::f32(y), cuda::f32(gate), cuda::f32(d_out), y.dim(0), y.dim(1),
                                           cuda::f32_mut(dy), cuda::f32_mut(dgate));
#endif
  no_backend("sigmoid_row_gate_backward", d);
}

}  // namespace s0::ops
