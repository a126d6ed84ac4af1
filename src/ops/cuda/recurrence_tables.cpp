#include "ops/cuda/recurrence_tables.h"

#include "core/error.h"
#include "ops/cuda/device_args.h"
#include "ops/cuda/tensor_args.h"

namespace s0::ops::cuda {

namespace {

RecurrenceTables tables(const Varlen& seqs, const std::vector<const float*>& start_states, const Shape& state,
                        const std::vector<bool>& wanted, Device device) {
  RecurrenceTables t;
  t.n_seqs = seqs.n_seqs();
  std::vector<const float*> outs;
  for (int64_t s = 0; s < t.n_seqs; ++s) {
    Tensor out;
    if (wanted[static_cast<size_t>(s)]) out = Tensor::empty(state, DType::F32, device);
    outs.push_back(out.empty() ? nullptr : f32(out));
    t.out_states.push_back(out);
  }
  t.starts = upload_addresses(start_states, device);
  t.outs = upload_addresses(outs, device);
  return t;
}

}  // namespace

RecurrenceTables forward_tables(const Varlen& seqs, const std::vector<SequenceStart>& starts, const Shape& state,
                                bool keep_finals, Device device) {
  std::vector<const float*> start_states;
  std::vector<bool> wanted;
  for (const SequenceStart& start : starts) {
    start_states.push_back(f32(start_state(start)));
    wanted.push_back(keep_finals || start.carried);
  }
  return tables(seqs, start_states, state, wanted, device);
}

void hand_over_finals(RecurrenceTables& tables, const std::vector<SequenceStart>& starts, std::vector<Tensor>* finals) {
  if (finals) finals->assign(static_cast<size_t>(tables.n_seqs), Tensor());
  for (size_t s = 0; s < starts.size(); ++s) {
    if (finals) (*finals)[s] = tables.out_states[s];
    if (starts[s].carried) *starts[s].carried = tables.out_states[s];
  }
}

RecurrenceTables backward_tables(const Varlen& seqs, const std::vector<SequenceStart>& starts, const Shape& state,
                                 bool want_d_initial, Device device, const char* op) {
  std::vector<const float*> start_states;
  for (const SequenceStart& start : starts) {
    if (start.carried) fail("internal: ", op, " over a generation cache");
    start_states.push_back(f32(start.initial));
  }
  return tables(seqs, start_states, state, std::vector<bool>(starts.size(), want_d_initial), device);
}

}  // namespace s0::ops::cuda
