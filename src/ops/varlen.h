#pragma once
// How the ops see a packed batch: sequences back to back without padding, sequence s owning rows
// [offsets[s], offsets[s + 1]) (cu_seqlens). Ops whose result for a row must not depend on the
// other sequences (recurrences, convolutions, attention, and GEMMs: BLAS results for a row depend
// on the other rows of a call) loop over the sequences themselves.
#include <cstdint>
#include <vector>

#include "core/tensor.h"

namespace s0::ops {

struct Varlen {
  std::vector<int64_t> offsets;  // n_seqs + 1 entries, offsets[0] = 0

  int64_t n_seqs() const { return static_cast<int64_t>(offsets.size()) - 1; }
  int64_t rows() const { return offsets.empty() ? 0 : offsets.back(); }
  int64_t begin(int64_t s) const { return offsets[static_cast<size_t>(s)]; }
  int64_t length(int64_t s) const { return offsets[static_cast<size_t>(s) + 1] - offsets[static_cast<size_t>(s)]; }
};

// Where one sequence's recurrence starts and what it carries on. The op, not the layer, picks the
// start: the carried state once the sequence has run (generation), else `initial` (an adapter's
// S0, or empty for zeros). That choice is the whole cost of an adapter: none per token.
struct SequenceStart {
  Tensor initial;            // [state shape] float32, or empty = zeros
  Tensor* carried = nullptr;  // generation cache: the state after the previous call (empty before
                              // the first); replaced by the state after this call. Null in training.
  // The dtype `carried` is kept in: float32, or bf16 (rounded once at the end of every call,
  // ops/carried_state.h), for every call of the sequence alike.
  DType carried_dtype = DType::F32;
  Tensor* window = nullptr;   // generation cache: the conv inputs before this call [K-1, C] (empty
                              // = zeros); moved past this call's inputs. Null in training.
  // The state-offset variant's D [state shape] float32, read out at every token (ops/state_offset.h),
  // or empty = none. A sequence's adapter is either its `initial` state or this offset.
  Tensor offset;
};

// The state a sequence's recurrence starts from (empty = zeros).
inline const Tensor& start_state(const SequenceStart& s) {
  return s.carried && !s.carried->empty() ? *s.carried : s.initial;
}

}  // namespace s0::ops
