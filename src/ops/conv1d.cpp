#include "ops/conv1d.h"

#include "ops/cpu/conv1d.h"
#if S0_HAVE_CUDA
#include "ops/cuda/conv1d.h"
#endif
#include "ops/dispatch.h"

namespace s0::ops {

void conv1d_silu_forward(const Columns& x, const Tensor& w, const Tensor& bias, const Varlen& seqs,
                         const std::vector<SequenceStart>& starts, Tensor& y, Tensor& pre) {
  const Device d = device_of("conv1d_silu", {&x.t, &w, &bias, &y, &pre});
#if S0_HAVE_CUDA
  if (!d.is_cpu()) return cuda::conv1d_silu_forward(x, w, bias, seqs, starts, y, pre);
#endif
  if (!d.is_cpu()) no_backend("conv1d_silu", d);
  const int64_t C = x.count, K = w.numel() / C, ld = x.stride();
  const float* xp = x.t.f32() + x.begin;
  for (int64_t s = 0; s < seqs.n_seqs(); ++s) {
    const int64_t b = seqs.begin(s), T = seqs.length(s);
    Tensor* window = starts[static_cast<size_t>(s)].window;
    if (window && window->empty()) *window = Tensor::zeros({K - 1, C}, x.t.dtype(), d);
    cpu::conv1d_silu_forward(xp + b * ld, ld, w.f32(), bias.empty() ? nullptr : bias.f32(),
                             window ? window->f32() : nullptr, T, C, K, y.f32_mut() + b * C, pre.f32_mut() + b * C);
    if (window) cpu::conv1d_advance_history(window->f32_mut(), xp + b * ld, ld, T, C, K);
  }
}

void conv1d_silu_backward(const Tensor& w, const Tensor& pre, const Tensor& dy, const Varlen& seqs,
                          const Columns& dx) {
  Tensor whole = dx.t;
  const Device d = device_of("conv1d_silu_backward", {&w, &pre, &dy, &whole});
#if S0_HAVE_CUDA
  if (!d.is_cpu()) return cuda::conv1d_silu_backward(w, pre, dy, seqs, dx);
#endif
  if (!d.is_cpu()) no_backend("conv1d_silu_backward", d);
  const int64_t C = dx.count, K = w.numel() / C, ld = dx.stride();
  float* dxp = whole.f32_mut() + dx.begin;
  for (int64_t s = 0; s < seqs.n_seqs(); ++s) {
    const int64_t b = seqs.begin(s);
    cpu::conv1d_silu_backward(w.f32(), pre.f32() + b * C, dy.f32() + b * C, seqs.length(s), C, K, dxp + b * ld, ld);
  }
}

}  // namespace s0::ops
