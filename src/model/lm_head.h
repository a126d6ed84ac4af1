#pragma once
// The LM head: logits of chosen rows of the final-norm output, and its backward.
#include <cstdint>
#include <vector>

#include "core/tensor.h"
#include "model/batch.h"
#include "model/model.h"

namespace s0 {

// Logits [rows, vocab] of the given rows (packed token indices) of normed[N, hidden], times the
// model's logit multiplier.
Tensor lm_head_forward(const HybridModel& model, const PackedBatch& batch, const Tensor& normed,
                       const std::vector<int64_t>& rows);
// d_normed[N, hidden] += dLoss/d(final-norm output) for d_logits[rows, vocab] at `rows`.
void lm_head_backward(const HybridModel& model, const PackedBatch& batch, const std::vector<int64_t>& rows,
                      const Tensor& d_logits, Tensor& d_normed);

}  // namespace s0
