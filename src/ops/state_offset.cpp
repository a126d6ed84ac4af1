#include "ops/state_offset.h"

#include "core/error.h"
#include "ops/cpu/state_offset.h"
#if S0_HAVE_CUDA
#include "ops/cuda/state_offset.h"
#endif
#include "ops/dispatch.h"

namespace s0::ops {

namespace {

// Checks every sequence's offset against the state shape the layer implies (read [N, Hr, K],
// out [N, H, V]) and the op's device.
void check_offsets(const Tensor& read, const Tensor& out, OffsetLayout layout, const Varlen& seqs,
                   const std::vector<SequenceStart>& starts, Device device) {
  if (starts.size() != static_cast<size_t>(seqs.n_seqs()))
    fail("internal: ", starts.size(), " sequence starts for ", seqs.n_seqs(), " sequences");
  const int64_t Hr = read.dim(1), K = read.dim(2), H = out.dim(1), V = out.dim(2);
  const Shape want = layout == OffsetLayout::KeyFirst ? Shape{H, K, V} : Shape{H, V, K};
  if (H % Hr != 0) fail("internal: ", H, " heads do not share ", Hr, " read heads evenly");
  for (const SequenceStart& s : starts) {
    if (s.offset.empty()) continue;
    if (s.offset.shape() != want || s.offset.dtype() != DType::F32)
      fail("internal: a state offset of shape ", shape_str(s.offset.shape()), " for a layer whose state is ",
           shape_str(want));
    if (s.offset.device() != device)
      fail("internal: a state offset on ", device_name(s.offset.device()), " for a layer on ", device_name(device));
  }
}

// The CPU kernels' shape of sequence s's call.
cpu::StateOffsetShape cpu_shape(const Tensor& read, const Tensor& out, OffsetLayout layout, int64_t rows) {
  return {rows, read.dim(1), out.dim(1), read.dim(2), out.dim(2), layout == OffsetLayout::KeyFirst};
}

}  // namespace

bool any_offset(const std::vector<SequenceStart>& starts) {
  for (const SequenceStart& s : starts)
    if (!s.offset.empty()) return true;
  return false;
}

void state_offset_forward(const Tensor& read, const Varlen& seqs, const std::vector<SequenceStart>& starts,
                          OffsetLayout layout, Tensor& out) {
  if (!any_offset(starts)) return;
  const Device d = device_of("state_offset", {&read, &out});
  check_offsets(read, out, layout, seqs, starts, d);
#if S0_HAVE_CUDA
  if (!d.is_cpu()) return cuda::state_offset_forward(read, seqs, starts, layout, out);
#endif
  if (!d.is_cpu()) no_backend("state_offset", d);
  for (int64_t s = 0; s < seqs.n_seqs(); ++s) {
    const Tensor& D = starts[static_cast<size_t>(s)].offset;
    if (D.empty()) continue;
    const cpu::StateOffsetShape sh = cpu_shape(read, out, layout, seqs.length(s));
    const int64_t b = seqs.begin(s);
    cpu::state_offset_forward(sh, read.f32() + b * sh.Hr * sh.K, D.f32(), out.f32_mut() + b * sh.H * sh.V);
  }
}

void state_offset_backward(const Tensor& read, const Varlen& seqs, const std::vector<SequenceStart>& starts,
                           OffsetLayout layout, const Tensor& d_out, Tensor& d_read, std::vector<Tensor>* d_adapter) {
  if (!any_offset(starts)) return;
  const Device d = device_of("state_offset_backward", {&read, &d_out, &d_read});
  check_offsets(read, d_out, layout, seqs, starts, d);
  if (d_adapter && d_adapter->size() != static_cast<size_t>(seqs.n_seqs()))
    fail("internal: ", d_adapter->size(), " adapter gradients for ", seqs.n_seqs(), " sequences");
  // What a sequence with an offset trains is its offset: its entry becomes the offset's gradient.
  if (d_adapter)
    for (size_t s = 0; s < starts.size(); ++s)
      if (!starts[s].offset.empty()) (*d_adapter)[s] = Tensor::zeros(starts[s].offset.shape(), DType::F32, d);
#if S0_HAVE_CUDA
  if (!d.is_cpu()) return cuda::state_offset_backward(read, seqs, starts, layout, d_out, d_read, d_adapter);
#endif
  if (!d.is_cpu()) no_backend("state_offset_backward", d);
  for (int64_t s = 0; s < seqs.n_seqs(); ++s) {
    const Tensor& D = starts[static_cast<size_t>(s)].offset;
    if (D.empty()) continue;
    const cpu::StateOffsetShape sh = cpu_shape(read, d_out, layout, seqs.length(s));
    const int64_t b = seqs.begin(s);
    float* dD = d_adapter ? (*d_adapter)[static_cast<size_t>(s)].f32_mut() : nullptr;
    cpu::state_offset_backward(sh, read.f32() + b * sh.Hr * sh.K, D.f32(), d_out.f32() + b * sh.H * sh.V,
                               d_read.f32_mut() + b * sh.Hr * sh.K, dD);
  }
}

}  // namespace s0::ops
