#include "model/loss_head.h"

#include <algorithm>

#include "model/backward.h"
#include "model/forward.h"
#include "model/lm_head.h"
#include "ops/cross_entropy.h"

namespace s0 {

namespace {

// Rows of LM-head logits formed at once: [256, vocab] is 254 MB at Qwen3.5's vocabulary.
constexpr int64_t kHeadChunkRows = 256;

// Calls f(begin, end) for each chunk of rows.
template <typename F>
void for_each_chunk(int64_t rows, F f) {
  for (int64_t c0 = 0; c0 < rows; c0 += kHeadChunkRows) f(c0, std::min(rows, c0 + kHeadChunkRows));
}

std::vector<int64_t> chunk_rows(const LossRows& loss, int64_t c0, int64_t c1) {
  return {loss.rows.begin() + c0, loss.rows.begin() + c1};
}

}  // namespace

std::vector<float> row_losses(const HybridModel& model, const PackedBatch& batch, const LossRows& loss) {
  const ForwardOutput out = forward(model, batch, ForwardOptions{});
  std::vector<float> losses;
  for_each_chunk(static_cast<int64_t>(loss.rows.size()), [&](int64_t c0, int64_t c1) {
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
  LossGradient res;
  size_t group = 0;
  for_each_chunk(static_cast<int64_t>(loss.rows.size()), [&](int64_t c0, int64_t c1) {
    const std::vector<int64_t> rows = chunk_rows(loss, c0, c1);
    Tensor logits = lm_head_forward(model, batch, out.final_normed, rows);
    // One part per run of one group's rows; the gradient overwrites the logits in place.
    for (int64_t r0 = c0; r0 < c1;) {
      while (loss.groups[group + 1] <= r0) ++group;
      const int64_t r1 = std::min(c1, loss.groups[group + 1]);
      const double sum = ops::cross_entropy_forward_backward(logits, r0 - c0, r1 - c0, loss.targets.data() + r0,
                                                             loss.weights.data() + r0);
      res.parts.push_back({group, sum});
      r0 = r1;
    }
    lm_head_backward(model, batch, rows, logits, d_normed);
  });
  res.d_initial = backward_from_normed(model, batch, tape, d_normed);
  return res;
}

}  // namespace s0
