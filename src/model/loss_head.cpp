#include "model/loss_head.h"

#include <algorithm>

#include "model/backward.h"
#include "model/forward.h"
#include "model/lm_head.h"
#include "ops/cross_entropy.h"
#include "ops/linear.h"

namespace s0 {

namespace {

// Rows of LM-head logits formed at once: [256, vocab] is 254 MB at Qwen3.5's vocabulary.
constexpr int64_t kHeadChunkRows = 256;

// Calls f(begin, end) for each chunk of rows. A chunk takes whole groups while they fit, and a
// group longer than a chunk is cut into chunks of its own: each group's rows within a chunk are one
// product (model/lm_head.cpp), and each product streams all of the LM head's weights (1 GB in f32
// at Qwen3.5-0.8B's vocabulary), so a group cut by a chunk boundary it could have stayed within
// read them twice (8 groups of 135 rows: 12 products in chunks cut every 256 rows, 8 now).
template <typename F>
void for_each_chunk(const LossRows& loss, F f) {
  const int64_t rows = static_cast<int64_t>(loss.rows.size());
  size_t g = 0;  // the group holding row c0
  for (int64_t c0 = 0; c0 < rows;) {
    int64_t c1 = c0;
    while (g + 1 < loss.groups.size() && loss.groups[g + 1] - c0 <= kHeadChunkRows) c1 = loss.groups[++g];
    if (c1 == c0) c1 = std::min(rows, c0 + kHeadChunkRows);  // a group longer than a chunk, cut
    f(c0, c1);
    c0 = c1;
  }
}

std::vector<int64_t> chunk_rows(const LossRows& loss, int64_t c0, int64_t c1) {
  return {loss.rows.begin() + c0, loss.rows.begin() + c1};
}

}  // namespace

std::vector<float> row_losses(const HybridModel& model, const PackedBatch& batch, const LossRows& loss) {
  const ForwardOutput out = forward(model, batch, ForwardOptions{});
  std::vector<float> losses;
  for_each_chunk(loss, [&](int64_t c0, int64_t c1) {
    const Tensor logits = lm_head_forward(model, batch, out.final_normed, chunk_rows(loss, c0, c1));
    const std::vector<float> part = ops::cross_entropy_forward(logits, loss.targets.data() + c0);
    losses.insert(losses.end(), part.begin(), part.end());
  });
  return losses;
}

LossGradient loss_gradient(const HybridModel& model, const PackedBatch& batch, const LossRows& loss, bool recompute) {
  ForwardTape tape;
  tape.recompute = recompute;
  ForwardOptions fo;  // no logits here: the LM head runs below, a chunk of rows at a time
  fo.tape = &tape;
  const ForwardOutput out = forward(model, batch, fo);
  const Device dev = out.final_normed.device();
  Tensor d_normed = Tensor::zeros({batch.n_tokens(), model.hidden}, DType::F32, dev);
  // One part per run of one group's rows within a chunk; its loss is summed on the model's device
  // and read once, after the whole backward is queued.
  LossGradient res;
  for_each_chunk(loss, [&](int64_t c0, int64_t c1) {
    for (int64_t r0 = c0; r0 < c1;) {
      size_t group = res.parts.empty() ? 0 : res.parts.back().group;
      while (loss.groups[group + 1] <= r0) ++group;
      res.parts.push_back({group, 0.0});
      r0 = std::min(c1, loss.groups[group + 1]);
    }
  });
  Tensor sums = Tensor::empty({static_cast<int64_t>(res.parts.size())}, DType::F64, dev);
  size_t part = 0;
  for_each_chunk(loss, [&](int64_t c0, int64_t c1) {
    const std::vector<int64_t> rows = chunk_rows(loss, c0, c1);
    Tensor logits = lm_head_forward(model, batch, out.final_normed, rows);
    // The gradient in the LM head's backward operand: over the logits in place (float32), or
    // rounded to bf16 as the cross entropy writes it.
    Tensor d_logits = ops::linear_grad_dtype(model.lm_head) == DType::F32
                          ? logits
                          : Tensor::empty(logits.shape(), ops::linear_grad_dtype(model.lm_head), dev);
    for (int64_t r0 = c0; r0 < c1; ++part) {
      const int64_t r1 = std::min(c1, loss.groups[res.parts[part].group + 1]);
      ops::cross_entropy_forward_backward(logits, r0 - c0, r1 - c0, loss.targets.data() + r0,
                                          loss.weights.data() + r0, sums, static_cast<int64_t>(part), d_logits);
      r0 = r1;
    }
    lm_head_backward(model, batch, rows, d_logits, d_normed);
  });
  res.d_initial = backward_from_normed(model, batch, tape, d_normed);
  const Tensor host_sums = sums.to(Device::cpu());  // the step's one wait for the GPU
  for (size_t i = 0; i < res.parts.size(); ++i) res.parts[i].weighted_sum = host_sums.as<double>()[i];
  return res;
}

}  // namespace s0
