#pragma once
// The backward pass, activation gradients only: from the gradient of the loss with respect to the
// logits at the selected rows, through every block, to the gradient with respect to each
// sequence's initial recurrent states. No weight gradient is ever formed.
#include <vector>

#include "model/forward.h"

namespace s0 {

// d_logits[R, vocab] is dLoss/dlogits for the rows the forward returned (rows[r] is a packed token
// index). Returns d_initial[seq][slot]: dLoss/dS0 of each recurrent layer for each sequence, the
// gradient at the state the sequence started from (zeros when it had none). The tape is consumed.
std::vector<std::vector<Tensor>> backward(const HybridModel& model, const PackedBatch& batch, ForwardTape& tape,
                                          const std::vector<int64_t>& rows, const Tensor& d_logits);

// The LM head's part: d_normed[N, hidden] += dLoss/d(final-norm output) for d_logits[R, vocab] at
// `rows`. Callers with many rows run it chunk by chunk so the full logits never exist at once.
void lm_head_backward(const HybridModel& model, const PackedBatch& batch, const std::vector<int64_t>& rows,
                      const float* d_logits, float* d_normed);

// The rest of the backward, from the gradient of the final-norm output [N, hidden].
std::vector<std::vector<Tensor>> backward_from_normed(const HybridModel& model, const PackedBatch& batch,
                                                      ForwardTape& tape, const Tensor& d_normed);

}  // namespace s0
