#include "ops/cpu/moe.h"

#include <cmath>
#include <vector>

#include "ops/cpu/activation.h"
#include "ops/sigmoid_router_grad.h"

namespace s0::ops::cpu {

namespace {

// The k best of v[0, n) not yet `taken` into picks, by decreasing value, each marked taken. A
// strictly greater value displaces the current candidate, so among equal ones the lowest index
// wins, and picks come out in decreasing order (torch.topk's order).
void pick_best(const std::vector<double>& v, std::vector<bool>& taken, int64_t k, int64_t* picks) {
  const int64_t n = static_cast<int64_t>(v.size());
  for (int64_t j = 0; j < k; ++j) {
    int64_t best = -1;
    for (int64_t e = 0; e < n; ++e)
      if (!taken[e] && (best < 0 || v[e] > v[best])) best = e;
    taken[best] = true;
    picks[j] = best;
  }
}

}  // namespace

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
    std::vector<bool> taken(static_cast<size_t>(E), false);
    int64_t* ex = experts + t * k;
    pick_best(p, taken, k, ex);
    double chosen = 0;
    for (int64_t j = 0; j < k; ++j) chosen += p[ex[j]];
    for (int64_t j = 0; j < k; ++j) weights[t * k + j] = static_cast<float>(normalize ? p[ex[j]] / chosen : p[ex[j]]);
  }
}

void route_sigmoid_grouped(const float* logits, const float* bias, int64_t N, int64_t E, int64_t k, bool normalize,
                           int64_t n_group, int64_t topk_group, double scale, float* scores, int64_t* experts,
                           float* weights) {
  const int64_t per_group = E / n_group;
#pragma omp parallel for schedule(static) if (N * E > 65536)
  for (int64_t t = 0; t < N; ++t) {
    std::vector<double> s(static_cast<size_t>(E)), corrected(static_cast<size_t>(E));
    for (int64_t e = 0; e < E; ++e) {
      s[e] = 1.0 / (1.0 + std::exp(-static_cast<double>(logits[t * E + e])));
      scores[t * E + e] = static_cast<float>(s[e]);
      corrected[e] = s[e] + bias[e];
    }
    // Each group's two best corrected scores, summed (equal values both count).
    std::vector<double> group_score(static_cast<size_t>(n_group));
    for (int64_t g = 0; g < n_group; ++g) {
      double first = -INFINITY, second = -INFINITY;
      for (int64_t e = g * per_group; e < (g + 1) * per_group; ++e) {
        if (corrected[e] > first) {
          second = first;
          first = corrected[e];
        } else if (corrected[e] > second) {
          second = corrected[e];
        }
      }
      group_score[g] = first + second;
    }
    std::vector<int64_t> groups(static_cast<size_t>(topk_group));
    std::vector<bool> group_taken(static_cast<size_t>(n_group), false);
    pick_best(group_score, group_taken, topk_group, groups.data());
    // Experts outside the kept groups are out of the choice (torch masks them to -inf).
    std::vector<bool> taken(static_cast<size_t>(E), true);
    for (int64_t g : groups)
      for (int64_t e = g * per_group; e < (g + 1) * per_group; ++e) taken[e] = false;
    int64_t* ex = experts + t * k;
    pick_best(corrected, taken, k, ex);
    double chosen = 0;
    for (int64_t j = 0; j < k; ++j) chosen += s[ex[j]];
    for (int64_t j = 0; j < k; ++j)
      weights[t * k + j] = static_cast<float>((normalize ? s[ex[j]] / (chosen + 1e-20) : s[ex[j]]) * scale);
  }
}

void route_sigmoid_backward(const float* scores, const int64_t* experts, const float* weights, const float* d_weights,
                            int64_t N, int64_t E, int64_t k, bool normalize, double scale, float* d_logits) {
#pragma omp parallel for schedule(static) if (N * E > 65536)
  for (int64_t t = 0; t < N; ++t)
    sigmoid_router_row_grad(scores + t * E, experts + t * k, weights + t * k, d_weights + t * k, E, k, normalize, scale,
                            d_logits + t * E);
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
