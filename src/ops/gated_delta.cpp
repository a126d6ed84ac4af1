#include "ops/gated_delta.h"

#include "core/error.h"
#include "ops/carried_state.h"
#include "ops/cpu/gated_delta.h"
#if S0_HAVE_CUDA
#include "ops/cuda/gated_delta.h"
#endif
#include "ops/columns.h"
#include "ops/dispatch.h"

namespace s0::ops {

namespace {

// Where each sequence's chunk starting states begin in the batch's buffer, and (last) its size.
std::vector<int64_t> chunk_state_offsets(const Varlen& seqs, int64_t H, int64_t dk, int64_t dv) {
  std::vector<int64_t> at{0};
  for (int64_t s = 0; s < seqs.n_seqs(); ++s)
    at.push_back(at.back() + cpu::gated_delta_chunk_starts_floats({seqs.length(s), H, dk, dv}));
  return at;
}

// Whether a column block is its matrix's whole rows (contiguous as it is).
bool whole_rows(const Columns& c) { return c.begin == 0 && c.count == c.stride(); }

// The block's values as contiguous rows [N, count] for the CPU kernels: the matrix itself, or a copy.
Tensor contiguous(const Columns& c) { return whole_rows(c) ? c.t : copy_columns(c); }

}  // namespace

void gated_delta_forward(const Tensor& q, const Tensor& k, const Columns& v_block, const Tensor& g,
                         const Tensor& beta, const Varlen& seqs, const std::vector<SequenceStart>& starts, Tensor& o,
                         std::vector<Tensor>* finals, Tensor* chunk_states, ProductPrecision products) {
  const Device d = device_of("gated_delta", {&q, &k, &v_block.t, &g, &beta, &o});
  if (any_bf16_carried(starts) && !bf16_step_call(d, seqs, starts, finals || chunk_states))
    return with_f32_carried(starts, [&](const std::vector<SequenceStart>& wide) {
      gated_delta_forward(q, k, v_block, g, beta, seqs, wide, o, finals, chunk_states, products);
    });
#if S0_HAVE_CUDA
  if (!d.is_cpu())
    return cuda::gated_delta_forward(q, k, v_block, g, beta, seqs, starts, o, finals, chunk_states, products);
#endif
  if (!d.is_cpu()) no_backend("gated_delta", d);
  (void)products;  // the CPU computes in float32
  const Tensor v = contiguous(v_block);
  const int64_t H = q.dim(1), dk = q.dim(2), dv = v_block.count / H;
  if (finals) finals->assign(static_cast<size_t>(seqs.n_seqs()), Tensor());
  const std::vector<int64_t> at = chunk_state_offsets(seqs, H, dk, dv);
  if (chunk_states) *chunk_states = Tensor::empty({at.back()}, DType::F32, d);
  for (int64_t s = 0; s < seqs.n_seqs(); ++s) {
    const int64_t b = seqs.begin(s);
    const SequenceStart& start = starts[static_cast<size_t>(s)];
    Tensor s_final;
    if (finals || start.carried) s_final = Tensor::empty({H, dk, dv}, DType::F32, d);
    cpu::gated_delta_chunked({seqs.length(s), H, dk, dv}, q.f32() + b * H * dk, k.f32() + b * H * dk,
                             v.f32() + b * H * dv, g.f32() + b * H, beta.f32() + b * H,
                             f32_or_null(start_state(start)), o.f32_mut() + b * H * dv,
                             s_final.empty() ? nullptr : s_final.f32_mut(), cpu::kGatedDeltaChunk,
                             chunk_states ? chunk_states->f32_mut() + at[static_cast<size_t>(s)] : nullptr);
    if (finals) (*finals)[static_cast<size_t>(s)] = s_final;
    if (start.carried) *start.carried = s_final;
  }
}

void gated_delta_backward(const Tensor& q, const Tensor& k, const Columns& v_block, const Tensor& g,
                          const Tensor& beta, const Varlen& seqs, const std::vector<SequenceStart>& starts,
                          const Tensor& d_o, Tensor& dq, Tensor& dk, const Columns& dv_block, Tensor& dg, Tensor& dbeta,
                          std::vector<Tensor>* d_initial, const Tensor& chunk_states, ProductPrecision products) {
  const Device d =
      device_of("gated_delta_backward", {&q, &k, &v_block.t, &g, &beta, &d_o, &dq, &dk, &dv_block.t, &dg, &dbeta});
#if S0_HAVE_CUDA
  if (!d.is_cpu())
    return cuda::gated_delta_backward(q, k, v_block, g, beta, seqs, starts, d_o, dq, dk, dv_block, dg, dbeta,
                                      d_initial, chunk_states, products);
#endif
  if (!d.is_cpu()) no_backend("gated_delta_backward", d);
  (void)products;  // the CPU computes in float32
  const Tensor v = contiguous(v_block);
  // dv into its block directly when that is whole rows, else into rows scattered there after.
  Tensor dv = whole_rows(dv_block) ? dv_block.t : Tensor::empty({dv_block.rows(), dv_block.count}, DType::F32, d);
  const int64_t H = q.dim(1), Dk = q.dim(2), Dv = v_block.count / H;
  if (d_initial) d_initial->assign(static_cast<size_t>(seqs.n_seqs()), Tensor());
  const std::vector<int64_t> at = chunk_state_offsets(seqs, H, Dk, Dv);
  if (!chunk_states.empty() && chunk_states.numel() != at.back())
    fail("internal: gated_delta_backward given chunk states of another batch");
  for (int64_t s = 0; s < seqs.n_seqs(); ++s) {
    const int64_t b = seqs.begin(s);
    const SequenceStart& start = starts[static_cast<size_t>(s)];
    if (start.carried) fail("internal: gated_delta_backward over a generation cache");
    float* ds0 = nullptr;
    if (d_initial) {
      (*d_initial)[static_cast<size_t>(s)] = Tensor::empty({H, Dk, Dv}, DType::F32, d);
      ds0 = (*d_initial)[static_cast<size_t>(s)].f32_mut();
    }
    cpu::gated_delta_chunked_backward({seqs.length(s), H, Dk, Dv}, q.f32() + b * H * Dk, k.f32() + b * H * Dk,
                                      v.f32() + b * H * Dv, g.f32() + b * H, beta.f32() + b * H,
                                      f32_or_null(start.initial), d_o.f32() + b * H * Dv, nullptr,
                                      dq.f32_mut() + b * H * Dk, dk.f32_mut() + b * H * Dk, dv.f32_mut() + b * H * Dv,
                                      dg.f32_mut() + b * H, dbeta.f32_mut() + b * H, ds0, cpu::kGatedDeltaChunk,
                                      chunk_states.empty() ? nullptr : chunk_states.f32() + at[static_cast<size_t>(s)]);
  }
  if (!whole_rows(dv_block)) scatter_columns(dv, dv_block);
}

}  // namespace s0::ops
