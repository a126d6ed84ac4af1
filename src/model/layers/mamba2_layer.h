#pragma once
// The Mamba-2 mixer over a packed batch, each sequence starting from its own state: the shared
// recurrent pipeline (recurrent_mixer.h) around the SSD recurrence.
#include <vector>

#include "model/layers/recurrent_mixer.h"
#include "model/model.h"
#include "ops/varlen.h"

namespace s0 {

struct Mamba2Saved {
  RecurrentSaved pipeline;  // proj: z | x | B | C | dt (multipliers folded in); conv over x | B | C
  Tensor dt;                // [N, H] after softplus and clamping
  Tensor chunk_states;      // the recurrence's state entering each chunk (ops/ssd.h), or empty
};

// residual[N, hidden] += mamba2(h[N, hidden]); starts: per sequence (batch.h); final_states (if not
// null) receives one [H, P, N] tensor per sequence. for_backward: saved also keeps the recurrence's
// chunk states, so that the backward need not recompute them.
void mamba2_layer_forward(const Mamba2Mixer& m, const ops::Varlen& seqs, const std::vector<ops::SequenceStart>& starts,
                          const Tensor& h, Tensor& residual, Mamba2Saved& saved, std::vector<Tensor>* final_states,
                          bool for_backward);

// dh[N, hidden] = (or += when `accumulate`) the input gradient for d_out[N, hidden]; d_initial (if
// not null) receives, per
// sequence, the gradient with respect to its adapter tensor [H, P, N]: its initial state, or its
// state offset when it has one (ops/state_offset.h).
// d_out is read only as out_proj's backward operand (bf16 where ops::linear_grad_dtype(out_proj) is).
void mamba2_layer_backward(const Mamba2Mixer& m, const ops::Varlen& seqs,
                           const std::vector<ops::SequenceStart>& starts, const Mamba2Saved& saved,
                           const Tensor& d_out, Tensor& dh, bool accumulate, std::vector<Tensor>* d_initial);

}  // namespace s0
