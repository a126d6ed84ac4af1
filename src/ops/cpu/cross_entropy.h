#pragma once
// Softmax cross-entropy over the positions a loss is taken at (completion tokens): each row of
// logits predicts one target token.
#include <cstdint>

namespace s0::ops::cpu {

// Per-row losses[P] = logsumexp(logits[p]) - logits[p, targets[p]] for logits[P, V].
void cross_entropy_forward(const float* logits, const int32_t* targets, int64_t P, int64_t V, float* losses);

// Returns sum_p weights[p] * loss_p (weights null = all 1) and writes dlogits[P, V] =
// weights[p] * (softmax(logits[p]) - onehot(targets[p])), its gradient. dlogits may be logits
// itself (in place). Weights let the caller weight each example's tokens by
// 1 / (its completion tokens * examples), making the sum the mean over examples of the mean token loss.
double cross_entropy_forward_backward(const float* logits, const int32_t* targets, const float* weights, int64_t P,
                                      int64_t V, float* dlogits);

}  // namespace s0::ops::cpu
