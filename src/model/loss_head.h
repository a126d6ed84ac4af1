#pragma once
// What a training objective asks of the model: the cross-entropy of chosen rows (completion
// positions) against their next tokens, computed through the final hidden states and the LM head
// in chunks of rows (a [rows, vocab] logits matrix for a whole batch would be gigabytes at
// Qwen3.5's vocabulary), and its gradient down to each sequence's initial recurrent states.
#include <cstdint>
#include <vector>

#include "core/tensor.h"
#include "model/batch.h"
#include "model/model.h"

namespace s0 {

// The rows a loss is taken at, grouped by the example they belong to.
struct LossRows {
  std::vector<int64_t> rows;     // packed token indices, each predicting targets[r]
  std::vector<int32_t> targets;  // the next token of each row
  std::vector<float> weights;    // each row's weight in the loss (the gradient pass)
  std::vector<int64_t> groups;   // cumulative offsets into rows: group g is one example's rows
};

// The weighted loss sum of one group's rows within one chunk of the LM head: a group longer than a
// chunk comes in several parts, in row order.
struct LossPart {
  size_t group = 0;
  double weighted_sum = 0;
};

struct LossGradient {
  std::vector<LossPart> parts;
  // d_initial[seq][slot]: the gradient of the weighted loss to sequence seq's initial state of
  // recurrent slot `slot` (model.recurrent order).
  std::vector<std::vector<Tensor>> d_initial;
};

// Each row's (unweighted) loss, without a backward.
std::vector<float> row_losses(const HybridModel& model, const PackedBatch& batch, const LossRows& loss);

// The weighted losses and their gradient. With `recompute`, each block keeps only its input and
// re-runs its forward in the backward (one extra forward for much less memory).
LossGradient loss_gradient(const HybridModel& model, const PackedBatch& batch, const LossRows& loss, bool recompute);

}  // namespace s0
