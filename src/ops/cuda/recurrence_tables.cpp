#include "ops/cuda/recurrence_tables.h"

#include "core/error.h"
#include "ops/carried_state.h"
#include "ops/cuda/device_args.h"
#include "ops/cuda/tensor_args.h"

namespace s0::ops::cuda {

namespace {

// The states' device storage in the tables' dtype (null for an empty one: zeros, or not wanted).
const void* state_address(const Tensor& t, bool bf16_states) {
  if (t.empty()) return nullptr;
  return bf16_states ? bf16(t) : f32(t);
}

// The tables over the given start states and handed-back states (empty = not wanted).
RecurrenceTables tables(const Varlen& seqs, const std::vector<const Tensor*>& start_states,
                        std::vector<Tensor> out_states, bool bf16_states, Device device) {
  RecurrenceTables t;
  t.n_seqs = seqs.n_seqs();
  if (static_cast<int64_t>(start_states.size()) != t.n_seqs)
    fail("internal: ", start_states.size(), " sequence starts for ", t.n_seqs, " sequences");
  std::vector<int64_t> values;
  for (const Tensor* p : start_states) values.push_back(address_value(state_address(*p, bf16_states)));
  for (const Tensor& out : out_states) values.push_back(address_value(state_address(out, bf16_states)));
  values.insert(values.end(), seqs.offsets.begin(), seqs.offsets.end());
  t.out_states = std::move(out_states);
  t.bf16_states = bf16_states;
  t.table = upload_i64(values, device);
  return t;
}

}  // namespace

RecurrenceTables forward_tables(const Varlen& seqs, const std::vector<SequenceStart>& starts, const Shape& state,
                                bool keep_finals, Device device) {
  const bool bf16_states = bf16_step_call(device, seqs, starts, keep_finals);
  if (!bf16_states && any_bf16_carried(starts)) fail("internal: bf16 carried states outside a decode step");
  std::vector<const Tensor*> start_states;
  std::vector<Tensor> outs;
  for (const SequenceStart& start : starts) {
    start_states.push_back(&start_state(start));
    // A state carried from the previous call is the cache's own and nothing else holds it, so the
    // kernels update it in place (each block reads its part of the state before writing it back);
    // a kept final must not change later, so it gets its own tensor.
    if (start.carried && !start.carried->empty() && !keep_finals)
      outs.push_back(*start.carried);
    else if (keep_finals || start.carried)
      outs.push_back(Tensor::empty(state, DType::F32, device));  // never in a bf16 step call
    else
      outs.emplace_back();
  }
  return tables(seqs, start_states, std::move(outs), bf16_states, device);
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
  std::vector<const Tensor*> start_states;
  std::vector<Tensor> outs;
  for (const SequenceStart& start : starts) {
    if (start.carried) fail("internal: ", op, " over a generation cache");
    start_states.push_back(&start.initial);
    outs.push_back(want_d_initial ? Tensor::empty(state, DType::F32, device) : Tensor());
  }
  return tables(seqs, start_states, std::move(outs), false, device);
}

}  // namespace s0::ops::cuda
