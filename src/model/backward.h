#pragma once
// The backward pass, activation gradients only: from the gradient of the loss with respect to the
// final-norm output, through every block, to the gradient with respect to each sequence's initial
// recurrent states. No weight gradient is ever formed. (The LM head's part is in lm_head.h; the
// loss head, loss_head.h, runs the whole of it for a training objective.)
#include <vector>

#include "model/forward.h"

namespace s0 {

// d_normed[N, hidden] is dLoss/d(final-norm output). Returns d_initial[seq][slot]: dLoss/dS0 of each
// recurrent layer for each sequence, the gradient at the state the sequence started from (zeros
// when it had none); for a sequence whose adapter is a state offset, the gradient to that offset
// instead. The tape is consumed.
std::vector<std::vector<Tensor>> backward_from_normed(const HybridModel& model, const PackedBatch& batch,
                                                      ForwardTape& tape, const Tensor& d_normed);

}  // namespace s0
