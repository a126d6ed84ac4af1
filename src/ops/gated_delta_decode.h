#pragma once
// GatedDeltaNet's decode step (every sequence of the batch brings one token) on the GPU: the gated
// delta rule's inputs from the input projection's rows in one pass, where the training and prefill
// path runs nine ops (the causal conv + SiLU, the window's advance, two L2 norms, two head
// expansions, the value copy, the gates). Per row the arithmetic is theirs: the conv's taps in
// order, each key head's sum of squares in a fixed tree, so a sequence's result repeats run to run
// and does not depend on the batch.
#include <vector>

#include "core/tensor.h"
#include "ops/columns.h"
#include "ops/varlen.h"

namespace s0::ops {

struct GatedDeltaHeads {
  int64_t nk, nv, dk, dv;  // key heads, value heads (a multiple of nk), and their widths
};

// The gated delta rule's inputs (ops/gated_delta.h): q, k[N, nv, dk] (L2-normalised per key head
// with eps, expanded to the value heads, q scaled by q_scale), v[N, nv, dv], g, beta[N, nv].
struct GatedDeltaStepInputs {
  Tensor q, k, v, g, beta;
};

// Whether gated_delta_decode_inputs serves this batch: on a GPU, every sequence one token.
bool gated_delta_decode_fused(const Varlen& seqs, Device device);

// qkv: the conv's input columns of the projection [q | k | v] (2 nk dk + nv dv), conv_w[C, K]
// (no bias); b, a: the gates' raw columns (nv each, same matrix). Each sequence's conv window
// (starts[s].window: made zeros when empty, null = zeros and not kept) moves one row on; the gates
// are ops/gates.h's.
GatedDeltaStepInputs gated_delta_decode_inputs(const Columns& qkv, const Columns& b, const Columns& a,
                                               const Tensor& conv_w, const Tensor& neg_A, const Tensor& dt_bias,
                                               const GatedDeltaHeads& heads, float eps, float q_scale,
                                               const std::vector<SequenceStart>& starts);

}  // namespace s0::ops
