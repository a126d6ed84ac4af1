#include "ops/cpu/moe.h"

#include <cmath>
#include <vector>

#include "ops/cpu/activation.h"

namespace s0::ops::cpu {

void route_top_k(const float* logits, int64_t N, int64_t E, int64_t k, bool normalize, float* probs, int64_t* experts,
                 float* weights) {
#pragma omp parallel for schedule(static) if (N * E > 65536)
  for (int64_t t = 0; t < N; ++t) {
    const float* l = logits + t * E;
    std::vector<double> p(static_cast<size_t>(E));
    double top = l[0], sum = 0;
    for (int64_t e = 1; e < E; ++e) top = std::max(top, static_cast<double>(l[e]));
    for (int64_t e = 0; e < E; ++e) sum += p[e] = std::exp(l[e] - top);
    for (int64_t e = 0; e < E; ++e) probs[t * E + e] = static_cast<float>(p[e] /= sum);
    // Selection by repeated maximum: a strictly greater probability displaces the current pick, so
    // among equal ones the lowest index wins, and picks come out in decreasing order.
    std::vector<bool> taken(static_cast<size_t>(E), false);
    double chosen = 0;
    for (int64_t j = 0; j < k; ++j) {
      int64_t best = -1;
      for (int64_t e = 0; e < E; ++e)
        if (!taken[e] && (best < 0 || p[e] > p[best])) best = e;
      taken[best] = true;
      experts[t * k + j] = best;
      chosen += p[best];
    }
    for (int64_t j = 0; j < k; ++j)
      weights[t * k + j] = static_cast<float>(normalize ? p[experts[t * k + j]] / chosen : p[experts[t * k + j]]);
  }
}

void route_top_k_backward(const float* probs, const int64_t* experts, const float* weights, const float* d_weights,
                          int64_t N, int64_t E, int64_t k, bool normalize, float* d_logits) {
#pragma omp parallel for schedule(static) if (N * E > 65536)
  for (int64_t t = 0; t < N; ++t) {
    const float* p = probs + t * E;
    const int64_t* ex = experts + t * k;
    const float* w = weights + t * k;
    const float* dw = d_weights + t * k;
    // d(loss)/d(probability) of each chosen expert; w = p / Z under normalisation, Z their sum.
    std::vector<double> dp(static_cast<size_t>(k));
    double wdw = 0, Z = 0;
    for (int64_t j = 0; j < k; ++j) {
      wdw += static_cast<double>(w[j]) * dw[j];
      Z += p[ex[j]];
    }
    for (int64_t j = 0; j < k; ++j) dp[j] = normalize ? (dw[j] - wdw) / Z : dw[j];
    // Softmax backward: dl = p * (dp - sum p dp).
    double pdp = 0;
    for (int64_t j = 0; j < k; ++j) pdp += p[ex[j]] * dp[j];
    float* dl = d_logits + t * E;
    for (int64_t e = 0; e < E; ++e) dl[e] = static_cast<float>(-p[e] * pdp);
    for (int64_t j = 0; j < k; ++j) dl[ex[j]] = static_cast<float>(p[ex[j]] * (dp[j] - pdp));
  }
}

void weighted_rows_add(const float* y, const int64_t* rows, const float* weights, const int64_t* slots, int64_t n,
                       int64_t d, float* out) {
#pragma omp parallel for schedule(static) if (n * d > 65536)
  for (int64_t i = 0; i < n; ++i) {
    const float w = weights[slots[i]];
    float* o = out + rows[i] * d;
    for (int64_t c = 0; c < d; ++c) o[c] += w * y[i * d + c];
  }
}

void weighted_rows_add_backward(const float* y, const int64_t* rows, const float* weights, const int64_t* slots,
                                const float* d_out, int64_t n, int64_t d, float* dy, float* d_weights) {
#pragma omp parallel for schedule(static) if (n * d > 65536)
  for (int64_t i = 0; i < n; ++i) {
    const float w = weights[slots[i]];
    const float* g = d_out + rows[i] * d;
    double dot = 0;
    for (int64_t c = 0; c < d; ++c) {
      dy[i * d + c] = w * g[c];
      dot += static_cast<double>(g[c]) * y[i * d + c];
    }
    d_weights[slots[i]] = static_cast<float>(dot);
  }
}

void sigmoid_row_gate(const float* y, const float* gate, int64_t N, int64_t d, float* out) {
#pragma omp parallel for schedule(static) if (N * d > 65536)
  for (int64_t t = 0; t < N; ++t) {
    const float s = sigmoid(gate[t]);
    for (int64_t c = 0; c < d; ++c) out[t * d + c] += s * y[t * d + c];
  }
}

void sigmoid_row_gate_backward(const float* y, const float* gate, const float* d_out, int64_t N, int64_t d, float* dy,
                               float* dgate) {
#pragma omp parallel for schedule(static) if (N * d > 65536)
  for (int64_t t = 0; t < N; ++t) {
    const double s = sigmoid(gate[t]);  // as the forward rounds it
    double dot = 0;
    for (int64_t c = 0; c < d; ++c) {
      dy[t * d + c] = static_cast<float>(s * d_out[t * d + c]);
      dot += static_cast<double>(d_out[t * d + c]) * y[t * d + c];
    }
    dgate[t] = static_cast<float>(dot * s * (1.0 - s));
  }
}

}  // namespace s0::ops::cpu
