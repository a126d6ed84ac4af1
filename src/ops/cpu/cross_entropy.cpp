#include "ops/cpu/cross_entropy.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "core/error.h"

namespace s0::ops {

namespace {
// Checked before the parallel loops: an exception must not escape an OpenMP region.
void check_targets(const int32_t* targets, int64_t P, int64_t V) {
  for (int64_t p = 0; p < P; ++p)
    if (targets[p] < 0 || targets[p] >= V)
      fail("cross entropy: target token ", targets[p], " at row ", p, " outside the vocabulary of ", V);
}

struct RowSoftmax {
  float max;
  double sum;  // sum of exp(logit - max), in double so a 150k-token vocabulary adds up exactly
  double loss;
};

RowSoftmax row_softmax(const float* row, int32_t target, int64_t V) {
  float mx = -std::numeric_limits<float>::infinity();
  for (int64_t j = 0; j < V; ++j) mx = std::max(mx, row[j]);
  double sum = 0;
  for (int64_t j = 0; j < V; ++j) sum += std::exp(static_cast<double>(row[j]) - mx);
  return {mx, sum, static_cast<double>(mx) + std::log(sum) - static_cast<double>(row[target])};
}
}  // namespace

void cross_entropy_forward(const float* logits, const int32_t* targets, int64_t P, int64_t V, float* losses) {
  check_targets(targets, P, V);
#pragma omp parallel for schedule(static) if (P * V > 65536)
  for (int64_t p = 0; p < P; ++p) losses[p] = static_cast<float>(row_softmax(logits + p * V, targets[p], V).loss);
}

double cross_entropy_forward_backward(const float* logits, const int32_t* targets, const float* weights, int64_t P,
                                      int64_t V, float* dlogits) {
  check_targets(targets, P, V);
  std::vector<double> losses(static_cast<size_t>(P));
#pragma omp parallel for schedule(static) if (P * V > 65536)
  for (int64_t p = 0; p < P; ++p) {
    const float* row = logits + p * V;
    const RowSoftmax sm = row_softmax(row, targets[p], V);  // reads the whole row before an in-place write
    const double wt = weights ? weights[p] : 1.0;
    losses[p] = wt * sm.loss;
    const double scale = wt / sm.sum;
    float* d = dlogits + p * V;
    for (int64_t j = 0; j < V; ++j) d[j] = static_cast<float>(scale * std::exp(static_cast<double>(row[j]) - sm.max));
    d[targets[p]] -= static_cast<float>(wt);
  }
  // Summed in row order, not by an OpenMP reduction, so the loss is the same for any thread count.
  double total = 0;
  for (double l : losses) total += l;
  return total;
}

}  // namespace s0::ops
