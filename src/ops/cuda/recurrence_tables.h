#pragma once
// The per-call tables of a recurrence kernel over a packed batch (plain C++, shared by the gated
// delta rule and SSD): each sequence's start-state address and the address of the state it hands
// back (final state in the forward, dS0 in the backward).
#include <cstdint>
#include <vector>

#include "core/tensor.h"
#include "ops/varlen.h"

namespace s0::ops::cuda {

// One upload per call (a decode step makes one such call per recurrent layer): [starts (n_seqs) |
// outs (n_seqs) | offsets (n_seqs + 1)] on the device.
struct RecurrenceTables {
  int64_t n_seqs = 0;
  Tensor table;
  std::vector<Tensor> out_states;  // per sequence the handed-back state, empty where not wanted
  // Every state bf16 (a decode step over caches that keep theirs in bf16, ops/carried_state.h), for
  // the step kernels alone; else every state float32.
  bool bf16_states = false;

  // Addresses of the start states [state], 0 = zeros.
  const int64_t* starts() const { return static_cast<const int64_t*>(table.device_raw()); }
  // Addresses of the handed-back states, 0 = not wanted.
  const int64_t* outs() const { return starts() + n_seqs; }
  // The sequences' packed offsets (ops/varlen.h).
  const int64_t* offsets() const { return starts() + 2 * n_seqs; }
};

// Forward: the start is the carried state in generation, else the adapter's; a final state is made
// for every sequence when `keep_finals`, and for each sequence that carries its state: the carried
// state itself, updated in place, once there is one and finals are not kept.
// States carried in bf16 are taken as they are when the call is ops::bf16_step_call's decode
// step; the ops widen every other call's (ops/carried_state.h).
RecurrenceTables forward_tables(const Varlen& seqs, const std::vector<SequenceStart>& starts, const Shape& state,
                                bool keep_finals, Device device);
// Hands the forward's final states to `finals` (when set) and to the sequences that carry theirs.
void hand_over_finals(RecurrenceTables& tables, const std::vector<SequenceStart>& starts, std::vector<Tensor>* finals);

// Backward (training: no sequence may carry a state): dS0 tensors are made when `want_d_initial`.
RecurrenceTables backward_tables(const Varlen& seqs, const std::vector<SequenceStart>& starts, const Shape& state,
                                 bool want_d_initial, Device device, const char* op);

}  // namespace s0::ops::cuda
