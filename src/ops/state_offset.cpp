#include "ops/state_offset.h"

#include "core/error.h"
#include "ops/cpu/state_offset.h"
#include "ops/dispatch.h"

namespace s0::ops {

namespace {

// The shape of sequence s's call, checking its offset against the state shape the layer implies.
cpu::StateOffsetShape shape_of(const Tensor& read, const Tensor& out, OffsetLayout layout, const Tensor& offset,
                               int64_t rows) {
  const int64_t Hr = read.dim(1), K = read.dim(2), H = out.dim(1), V = out.dim(2);
  const bool key_first = layout == OffsetLayout::KeyFirst;
  const Shape want = key_first ? Shape{H, K, V} : Shape{H, V, K};
  if (offset.shape() != want || offset.dtype() != DType::F32)
    fail("internal: a state offset of shape ", shape_str(offset.shape()), " for a layer whose state is ",
         shape_str(want));
  if (H % Hr != 0) fail("internal: ", H, " heads do not share ", Hr, " read heads evenly");
  return {rows, Hr, H, K, V, key_first};
}

void require_cpu(const char* op, Device d) {
  // No CUDA kernel yet: say so plainly rather than as a missing backend.
  if (!d.is_cpu())
    fail("state-offset adapters run on the CPU only (", op, " has no ", device_name(d),
         " implementation); use --device cpu");
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
  require_cpu("state_offset", device_of("state_offset", {&read, &out}));
  for (int64_t s = 0; s < seqs.n_seqs(); ++s) {
    const Tensor& D = starts[static_cast<size_t>(s)].offset;
    if (D.empty()) continue;
    const cpu::StateOffsetShape sh = shape_of(read, out, layout, D, seqs.length(s));
    const int64_t b = seqs.begin(s);
    cpu::state_offset_forward(sh, read.f32() + b * sh.Hr * sh.K, D.f32(), out.f32_mut() + b * sh.H * sh.V);
  }
}

void state_offset_backward(const Tensor& read, const Varlen& seqs, const std::vector<SequenceStart>& starts,
                           OffsetLayout layout, const Tensor& d_out, Tensor& d_read, std::vector<Tensor>* d_adapter) {
  if (!any_offset(starts)) return;
  require_cpu("state_offset_backward", device_of("state_offset_backward", {&read, &d_out, &d_read}));
  if (d_adapter && d_adapter->size() != static_cast<size_t>(seqs.n_seqs()))
    fail("internal: ", d_adapter->size(), " adapter gradients for ", seqs.n_seqs(), " sequences");
  for (int64_t s = 0; s < seqs.n_seqs(); ++s) {
    const Tensor& D = starts[static_cast<size_t>(s)].offset;
    if (D.empty()) continue;
    const cpu::StateOffsetShape sh = shape_of(read, d_out, layout, D, seqs.length(s));
    const int64_t b = seqs.begin(s);
    float* dD = nullptr;
    if (d_adapter) {
      Tensor& g = (*d_adapter)[static_cast<size_t>(s)];
      g = Tensor::zeros(D.shape(), DType::F32, D.device());
      dD = g.f32_mut();
    }
    cpu::state_offset_backward(sh, read.f32() + b * sh.Hr * sh.K, D.f32(), d_out.f32() + b * sh.H * sh.V,
                               d_read.f32_mut() + b * sh.Hr * sh.K, dD);
  }
}

}  // namespace s0::ops
