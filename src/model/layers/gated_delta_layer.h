#pragma once
// The GatedDeltaNet mixer over a packed batch, each sequence starting from its own state: the
// shared recurrent pipeline (recurrent_mixer.h) around the gated delta rule.
#include <vector>

#include "model/layers/recurrent_mixer.h"
#include "model/model.h"
#include "ops/varlen.h"

namespace s0 {

struct GatedDeltaSaved {
  RecurrentSaved pipeline;  // proj: qkv | z | b | a; conv over qkv
  Tensor q_rnorm, k_rnorm;  // [N * nk] reciprocal L2 norms of the key-head q and k
  Tensor q, k;              // [N, nv, dk] normalised, expanded to value heads (q also scaled)
  Tensor g, beta;           // [N, nv] log decay and write strength
  Tensor chunk_states;      // the recurrence's state entering each chunk, on a GPU with each chunk's
                            // preparation and delta rows (ops/gated_delta.h), or empty
};

// residual[N, hidden] += gated_delta_net(h[N, hidden]); starts: per sequence (batch.h);
// final_states (if not null) receives one [nv, dk, dv] tensor per sequence. `keep`: what saved
// holds for the backward; the recurrence's chunk states, which spare the backward recomputing them,
// on a whole tape, and on a re-run block on the CPU only (gated_delta_layer.cpp says why).
void gated_delta_layer_forward(const GatedDeltaMixer& m, const ops::Varlen& seqs,
                               const std::vector<ops::SequenceStart>& starts, const Tensor& h, Tensor& residual,
                               GatedDeltaSaved& saved, std::vector<Tensor>* final_states, KeepFor keep);

// dh[N, hidden] = (or += when `accumulate`) the input gradient for d_out[N, hidden] (read only as
// out_proj's backward operand: bf16 where ops::linear_grad_dtype(out_proj) is); d_initial (if
// not null) receives, per
// sequence, the gradient with respect to its adapter tensor [nv, dk, dv]: its initial state (also
// for a zero start), or its state offset when it has one (ops/state_offset.h).
void gated_delta_layer_backward(const GatedDeltaMixer& m, const ops::Varlen& seqs,
                                const std::vector<ops::SequenceStart>& starts, const GatedDeltaSaved& saved,
                                const Tensor& d_out, Tensor& dh, bool accumulate, std::vector<Tensor>* d_initial);

}  // namespace s0
