#include "model/lm_head.h"

#include <algorithm>

#include "ops/linear.h"
#include "ops/rows.h"

namespace s0 {

namespace {

// Runs of consecutive `rows` that belong to one sequence: each gets its own product (ops/linear.h).
ops::Varlen rows_by_sequence(const PackedBatch& batch, const std::vector<int64_t>& rows) {
  ops::Varlen groups{{0}};
  const std::vector<int64_t>& offsets = batch.seqs.offsets;
  int64_t current = -1;
  for (size_t r = 0; r < rows.size(); ++r) {
    const int64_t seq = std::upper_bound(offsets.begin(), offsets.end(), rows[r]) - offsets.begin() - 1;
    if (r > 0 && seq != current) groups.offsets.push_back(static_cast<int64_t>(r));
    current = seq;
  }
  groups.offsets.push_back(static_cast<int64_t>(rows.size()));
  return groups;
}

}  // namespace

Tensor lm_head_forward(const HybridModel& model, const PackedBatch& batch, const Tensor& normed,
                       const std::vector<int64_t>& rows) {
  const Tensor picked = ops::gather_rows(normed, rows);
  const Device dev = normed.device();
  Tensor logits = Tensor::empty({static_cast<int64_t>(rows.size()), model.vocab}, DType::F32, dev);
  ops::linear_forward(model.lm_head, picked, rows_by_sequence(batch, rows), logits);
  if (model.logit_scale != 1.0f) ops::scale_(logits, model.logit_scale);
  return logits;
}

void lm_head_backward(const HybridModel& model, const PackedBatch& batch, const std::vector<int64_t>& rows,
                      const Tensor& d_logits, Tensor& d_normed) {
  const Device dev = d_logits.device();
  Tensor d_picked = Tensor::empty({static_cast<int64_t>(rows.size()), model.hidden}, DType::F32, dev);
  ops::linear_backward(model.lm_head, d_logits, rows_by_sequence(batch, rows), d_picked);
  // logits = scale * normed W^T; the scale is applied here, after the product, as the forward
  // applies it after its product.
  ops::scatter_add_rows(d_picked, rows, model.logit_scale, d_normed);
}

}  // namespace s0
