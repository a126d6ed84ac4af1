#include "ops/cpu/cross_entropy.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "core/error.h"

namespace s0::ops::cpu {

namespace {
// Checked before the parallel loops: an exception must not escape an OpenMP region.
void check_targets(const int32_t* targets, int64_t P, int64_t V) {
  for (int64_t p = 0; p < P; ++p)
    if (targets[p] < 0 || targets[p] >= V)
      fail("cross entropy: target token ", targets[p], " at row ", p, " outside the vocabulary of ", V);
}

struct RowSoftmax {
  double sum;  // sum of exp(logit - max), in double so a 150k-token vocabulary adds up without drift
  double loss;
};

// exps (optional, may alias row) receives exp(logit - max) per column.
RowSoftmax row_softmax(const float* row, int32_t target, int64_t V, float* exps) {
  const float picked = row[target];  // read before an in-place exps overwrites it
  float mx = -std::numeric_limits<float>::infinity();
  for (int64_t j = 0; j < V; ++j) mx = std::max(mx, row[j]);
  double sum = 0;
  for (int64_t j = 0; j < V; ++j) {
    const float e = std::exp(row[j] - mx);
    if (exps) exps[j] = e;
    sum += e;
  }
  return {sum, static_cast<double>(mx) + std::log(sum) - static_cast<double>(picked)};
}
}  // namespace

void cross_entropy_forward(const float* logits, const int32_t* targets, int64_t P, int64_t V, float* losses) {
  check_targets(targets, P, V);
#pragma omp parallel for schedule(static) if (P * V > 65536)
  for (int64_t p = 0; p < P; ++p) losses[p] = static_cast<float>(row_softmax(logits + p * V, targets[p], V, nullptr).loss);
}

double cross_entropy_forward_backward(const float* logits, const int32_t* targets, const float* weights, int64_t P,
                                      int64_t V, float* dlogits) {
  check_targets(targets, P, V);
  std::vector<double> losses(static_cast<size_t>(P));
#pragma omp parallel for schedule(static) if (P * V > 65536)
  for (int64_t p = 0; p < P; ++p) {
    float* d = dlogits + p * V;
    const RowSoftmax sm = row_softmax(logits + p * V, targets[p], V, d);
    const double wt = weights ? weights[p] : 1.0;
    losses[p] = wt * sm.loss;
    const float scale = static_cast<float>(wt / sm.sum);
    for (int64_t j = 0; j < V; ++j) d[j] *= scale;
    d[targets[p]] -= static_cast<float>(wt);
  }
  // Summed in row order, not by an OpenMP reduction, so the loss is the same for any thread count.
  double total = 0;
  for (double l : losses) total += l;
  return total;
}

}  // namespace s0::ops::cpu
