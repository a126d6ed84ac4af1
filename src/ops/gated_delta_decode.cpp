#include "ops/gated_delta_decode.h"

#include "core/error.h"
#include "ops/dispatch.h"
#if S0_HAVE_CUDA
#include "ops/cuda/gated_delta_decode.h"
#endif

namespace s0::ops {

bool gated_delta_decode_fused(const Varlen& seqs, Device device) {
  if (device.type != DeviceType::CUDA || seqs.n_seqs() == 0) return false;
  for (int64_t s = 0; s < seqs.n_seqs(); ++s)
    if (seqs.length(s) != 1) return false;
  return true;
}

GatedDeltaStepInputs gated_delta_decode_inputs(const Columns& qkv, const Columns& b, const Columns& a,
                                               const Tensor& conv_w, const Tensor& neg_A, const Tensor& dt_bias,
                                               const GatedDeltaHeads& heads, float eps, float q_scale,
                                               const std::vector<SequenceStart>& starts) {
  const Device d = device_of("gated_delta_decode", {&qkv.t, &b.t, &a.t, &conv_w, &neg_A, &dt_bias});
  const int64_t N = qkv.rows(), C = 2 * heads.nk * heads.dk + heads.nv * heads.dv;
  if (qkv.count != C || b.count != heads.nv || a.count != heads.nv || b.stride() != a.stride())
    fail("internal: gated_delta_decode given columns that do not match its heads");
  if (static_cast<int64_t>(starts.size()) != N)
    fail("internal: gated_delta_decode given ", starts.size(), " sequence starts for ", N, " one-token sequences");
#if S0_HAVE_CUDA
  if (d.type == DeviceType::CUDA) {
    GatedDeltaStepInputs out{Tensor::empty({N, heads.nv, heads.dk}, DType::F32, d),
                             Tensor::empty({N, heads.nv, heads.dk}, DType::F32, d),
                             Tensor::empty({N, heads.nv, heads.dv}, DType::F32, d),
                             Tensor::empty({N, heads.nv}, DType::F32, d), Tensor::empty({N, heads.nv}, DType::F32, d)};
    cuda::gated_delta_decode_inputs(qkv, b, a, conv_w, neg_A, dt_bias, heads, eps, q_scale, starts, out);
    return out;
  }
#endif
  no_backend("gated_delta_decode", d);
}

}  // namespace s0::ops
