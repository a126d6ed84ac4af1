#include "ops/ssd.h"

#include "core/error.h"
#include "ops/carried_state.h"
#include "ops/cpu/ssd.h"
#if S0_HAVE_CUDA
#include "ops/cuda/ssd.h"
#endif
#include "ops/dispatch.h"

namespace s0::ops {

namespace {

// Where each sequence's chunk starting states begin in the batch's buffer, and (last) its size.
std::vector<int64_t> chunk_state_offsets(const Varlen& seqs, int64_t H, int64_t P, int64_t G, int64_t Ns) {
  std::vector<int64_t> at{0};
  for (int64_t s = 0; s < seqs.n_seqs(); ++s)
    at.push_back(at.back() + cpu::ssd_chunk_starts_floats({seqs.length(s), H, P, G, Ns}));
  return at;
}

}  // namespace

void ssd_forward(const Tensor& x, const Tensor& dt, const Tensor& A, const Tensor& B, const Tensor& C,
                 const Tensor& D, const Varlen& seqs, const std::vector<SequenceStart>& starts, Tensor& y,
                 std::vector<Tensor>* finals, Tensor* chunk_states, ProductPrecision products) {
  const Device d = device_of("ssd", {&x, &dt, &A, &B, &C, &D, &y});
  if (any_bf16_carried(starts) && !bf16_step_call(d, seqs, starts, finals || chunk_states))
    return with_f32_carried(starts, [&](const std::vector<SequenceStart>& wide) {
      ssd_forward(x, dt, A, B, C, D, seqs, wide, y, finals, chunk_states, products);
    });
#if S0_HAVE_CUDA
  if (!d.is_cpu()) return cuda::ssd_forward(x, dt, A, B, C, D, seqs, starts, y, finals, products);
#endif
  if (!d.is_cpu()) no_backend("ssd", d);
  (void)products;  // the CPU computes in float32
  const int64_t H = x.dim(1), P = x.dim(2), G = B.dim(1), Ns = B.dim(2);
  if (finals) finals->assign(static_cast<size_t>(seqs.n_seqs()), Tensor());
  const std::vector<int64_t> at = chunk_state_offsets(seqs, H, P, G, Ns);
  if (chunk_states) *chunk_states = Tensor::empty({at.back()}, DType::F32, d);
  for (int64_t s = 0; s < seqs.n_seqs(); ++s) {
    const int64_t b = seqs.begin(s);
    const SequenceStart& start = starts[static_cast<size_t>(s)];
    Tensor s_final;
    if (finals || start.carried) s_final = Tensor::empty({H, P, Ns}, DType::F32, d);
    cpu::ssd_chunked({seqs.length(s), H, P, G, Ns}, x.f32() + b * H * P, dt.f32() + b * H, A.f32(),
                     B.f32() + b * G * Ns, C.f32() + b * G * Ns, D.f32(), f32_or_null(start_state(start)),
                     y.f32_mut() + b * H * P, s_final.empty() ? nullptr : s_final.f32_mut(), cpu::kSsdChunk,
                     chunk_states ? chunk_states->f32_mut() + at[static_cast<size_t>(s)] : nullptr);
    if (finals) (*finals)[static_cast<size_t>(s)] = s_final;
    if (start.carried) *start.carried = s_final;
  }
}

void ssd_backward(const Tensor& x, const Tensor& dt, const Tensor& A, const Tensor& B, const Tensor& C,
                  const Tensor& D, const Varlen& seqs, const std::vector<SequenceStart>& starts, const Tensor& d_y,
                  Tensor& dx, Tensor& ddt, Tensor& dB, Tensor& dC, std::vector<Tensor>* d_initial,
                  const Tensor& chunk_states, ProductPrecision products) {
  const Device d = device_of("ssd_backward", {&x, &dt, &A, &B, &C, &D, &d_y, &dx, &ddt, &dB, &dC});
#if S0_HAVE_CUDA
  if (!d.is_cpu())
    return cuda::ssd_backward(x, dt, A, B, C, D, seqs, starts, d_y, dx, ddt, dB, dC, d_initial, products);
#endif
  if (!d.is_cpu()) no_backend("ssd_backward", d);
  (void)products;  // the CPU computes in float32
  const int64_t H = x.dim(1), P = x.dim(2), G = B.dim(1), Ns = B.dim(2);
  Tensor dD = Tensor::zeros({H}, DType::F32, d);  // the kernel's D gradient, not wanted
  if (d_initial) d_initial->assign(static_cast<size_t>(seqs.n_seqs()), Tensor());
  const std::vector<int64_t> at = chunk_state_offsets(seqs, H, P, G, Ns);
  if (!chunk_states.empty() && chunk_states.numel() != at.back())
    fail("internal: ssd_backward given chunk states of another batch");
  for (int64_t s = 0; s < seqs.n_seqs(); ++s) {
    const int64_t b = seqs.begin(s);
    const SequenceStart& start = starts[static_cast<size_t>(s)];
    if (start.carried) fail("internal: ssd_backward over a generation cache");
    float* ds0 = nullptr;
    if (d_initial) {
      (*d_initial)[static_cast<size_t>(s)] = Tensor::empty({H, P, Ns}, DType::F32, d);
      ds0 = (*d_initial)[static_cast<size_t>(s)].f32_mut();
    }
    cpu::ssd_chunked_backward({seqs.length(s), H, P, G, Ns}, x.f32() + b * H * P, dt.f32() + b * H, A.f32(),
                              B.f32() + b * G * Ns, C.f32() + b * G * Ns, D.f32(), f32_or_null(start.initial),
                              d_y.f32() + b * H * P, nullptr, dx.f32_mut() + b * H * P, ddt.f32_mut() + b * H,
                              dB.f32_mut() + b * G * Ns, dC.f32_mut() + b * G * Ns, dD.f32_mut(), ds0, cpu::kSsdChunk,
                              chunk_states.empty() ? nullptr : chunk_states.f32() + at[static_cast<size_t>(s)]);
  }
}

}  // namespace s0::ops
