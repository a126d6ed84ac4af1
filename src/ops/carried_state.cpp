#include "ops/carried_state.h"

#include "core/error.h"
#include "ops/bf16_cast.h"

namespace s0::ops {

namespace {

bool carries_bf16(const SequenceStart& s) { return s.carried && s.carried_dtype == DType::BF16; }

}  // namespace

bool any_bf16_carried(const std::vector<SequenceStart>& starts) {
  for (const SequenceStart& s : starts)
    if (carries_bf16(s)) return true;
  return false;
}

bool bf16_step_call(Device device, const Varlen& seqs, const std::vector<SequenceStart>& starts,
                    bool hands_back_finals) {
  if (device.is_cpu() || hands_back_finals || starts.empty()) return false;
  for (int64_t s = 0; s < seqs.n_seqs(); ++s)
    if (const SequenceStart& start = starts[static_cast<size_t>(s)];
        seqs.length(s) != 1 || !carries_bf16(start) || start.carried->empty())
      return false;
  return true;
}

void with_f32_carried(const std::vector<SequenceStart>& starts,
                      const std::function<void(const std::vector<SequenceStart>&)>& op) {
  std::vector<SequenceStart> wide_starts = starts;
  std::vector<Tensor> wide(starts.size());  // sized once: wide_starts point into it
  for (size_t s = 0; s < starts.size(); ++s) {
    if (!carries_bf16(starts[s])) continue;
    if (!starts[s].carried->empty()) wide[s] = widened_from_bf16(*starts[s].carried);
    wide_starts[s].carried = &wide[s];
    wide_starts[s].carried_dtype = DType::F32;
  }
  op(wide_starts);
  for (size_t s = 0; s < starts.size(); ++s) {
    if (!carries_bf16(starts[s])) continue;
    Tensor& cache = *starts[s].carried;
    if (wide[s].empty()) fail("internal: a recurrence left no state for a sequence that carries one");
    if (cache.empty() || cache.shape() != wide[s].shape())
      cache = Tensor::empty(wide[s].shape(), DType::BF16, wide[s].device());
    round_into(wide[s], cache);
  }
}

}  // namespace s0::ops
