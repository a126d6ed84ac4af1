#pragma once
// The routed experts of a sparse MoE block over a packed batch: the router (softmax, or sigmoid
// with grouped top-k), then each chosen expert's MLP over the rows routed to it, weighted back into
// the token rows.
//
// Batch invariance: an expert's rows are grouped by sequence (ops/linear.h's policy), and which of a
// sequence's tokens reach an expert depends on that sequence alone, so no row's result depends on
// another sequence.
#include <vector>

#include "core/tensor.h"
#include "model/model.h"
#include "ops/moe.h"
#include "ops/varlen.h"

namespace s0 {

// The rows one expert ran on.
struct ExpertRun {
  size_t expert = 0;
  std::vector<int64_t> rows;   // token rows, ascending
  std::vector<int64_t> slots;  // row * top_k + the rank of this expert in the row's choice
  ops::Varlen groups;          // the rows' sequences, as groups of consecutive gathered rows
  Tensor gu;                   // [rows, 2I] the expert's gate | up projection
  Tensor y;                    // [rows, hidden] its output (times output_scale) before the routing weight
};

struct MoeSaved {
  ops::Routing routing;
  std::vector<ExpertRun> runs;  // experts with at least one row, by expert index
};

// residual[N, hidden] += the routed experts' weighted sum for h[N, hidden].
void moe_forward(const SparseMoe& m, const ops::Varlen& seqs, const Tensor& h, Tensor& residual, MoeSaved& saved);
// dh[N, hidden] += the input gradient for d_out[N, hidden], through the experts and the router.
void moe_backward(const SparseMoe& m, const ops::Varlen& seqs, const MoeSaved& saved, const Tensor& d_out, Tensor& dh);

}  // namespace s0
