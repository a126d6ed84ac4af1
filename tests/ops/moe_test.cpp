// The mixture-of-experts ops (ops/cpu/moe.h): both routers' choices against naive sorts, ties,
// groups and the correction bias, and every backward against central finite differences of a float64 forward written here from
// the op's definition.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <numeric>

#include "finite_differences.h"
#include "naive_ops.h"
#include "ops/cpu/moe.h"

using namespace s0;
using namespace s0::naive;

namespace {

double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

Vec softmax(const Vec& l) {
  Vec p(l.size());
  const double top = *std::max_element(l.begin(), l.end());
  double sum = 0;
  for (size_t e = 0; e < l.size(); ++e) sum += p[e] = std::exp(l[e] - top);
  for (double& v : p) v /= sum;
  return p;
}

// The top k of row p: by decreasing probability, equal ones by increasing index.
std::vector<int64_t> naive_top_k(const Vec& p, int64_t k) {
  std::vector<int64_t> order(p.size());
  std::iota(order.begin(), order.end(), int64_t{0});
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return p[a] > p[b]; });
  order.resize(static_cast<size_t>(k));
  return order;
}

}  // namespace

TEST(MoeRouter, PicksTheTopKWithTheirWeights) {
  const int64_t N = 9, E = 7, k = 3;
  const auto logits = randn(N * E, 41, 1.5f);
  for (bool normalize : {false, true}) {
    std::vector<float> probs(N * E), weights(N * k);
    std::vector<int64_t> experts(N * k);
    ops::cpu::route_top_k(logits.data(), N, E, k, normalize, probs.data(), experts.data(), weights.data());
    for (int64_t t = 0; t < N; ++t) {
      const Vec p = softmax(Vec(logits.begin() + t * E, logits.begin() + (t + 1) * E));
      const std::vector<int64_t> want = naive_top_k(p, k);
      double chosen = 0;
      for (int64_t e : want) chosen += p[e];
      for (int64_t j = 0; j < k; ++j) {
        EXPECT_EQ(experts[t * k + j], want[j]) << "row " << t << " rank " << j;
        EXPECT_NEAR(weights[t * k + j], normalize ? p[want[j]] / chosen : p[want[j]], 1e-7);
      }
      for (int64_t e = 0; e < E; ++e) EXPECT_NEAR(probs[t * E + e], p[e], 1e-7);
    }
  }
}

TEST(MoeRouter, EqualProbabilitiesGoToTheLowerIndexFirst) {
  const int64_t E = 6, k = 4;
  const std::vector<float> logits = {0.5f, 2.0f, 0.5f, 2.0f, 1.0f, 0.5f};
  std::vector<float> probs(E), weights(k);
  std::vector<int64_t> experts(k);
  ops::cpu::route_top_k(logits.data(), 1, E, k, true, probs.data(), experts.data(), weights.data());
  EXPECT_EQ(experts, (std::vector<int64_t>{1, 3, 4, 0}));
  EXPECT_FLOAT_EQ(weights[0], weights[1]);
}

TEST(MoeRouter, BackwardMatchesFiniteDifferences) {
  const int64_t N = 5, E = 6, k = 2;
  const auto logits = randn(N * E, 42, 1.5f), dw = randn(N * k, 43);
  for (bool normalize : {false, true}) {
    std::vector<float> probs(N * E), weights(N * k), dl(N * E);
    std::vector<int64_t> experts(N * k);
    ops::cpu::route_top_k(logits.data(), N, E, k, normalize, probs.data(), experts.data(), weights.data());
    ops::cpu::route_top_k_backward(probs.data(), experts.data(), weights.data(), dw.data(), N, E, k, normalize,
                                   dl.data());
    // The weights as a smooth function of the logits for the choice made (finite differences stay
    // far from any change of choice on these inputs).
    auto weights_of = [&](const Vec& l) {
      Vec out;
      for (int64_t t = 0; t < N; ++t) {
        const Vec p = softmax(Vec(l.begin() + t * E, l.begin() + (t + 1) * E));
        double chosen = 0;
        for (int64_t j = 0; j < k; ++j) chosen += p[experts[t * k + j]];
        for (int64_t j = 0; j < k; ++j) out.push_back(p[experts[t * k + j]] / (normalize ? chosen : 1.0));
      }
      return out;
    };
    expect_grad(dl, fd_grad(weights_of, to_double(logits), to_double(dw)), normalize ? "d_logits, normalized" : "d_logits");
  }
}

TEST(MoeCombine, WeightedRowsAddAndItsBackward) {
  const int64_t N = 6, k = 2, n = 4, d = 5;
  const std::vector<int64_t> rows = {0, 2, 3, 5}, slots = {1, 4, 6, 10};
  const auto y = randn(n * d, 44), weights = randn(N * k, 45), d_out = randn(N * d, 46);
  auto out = randn(N * d, 47);
  const auto before = out;
  ops::cpu::weighted_rows_add(y.data(), rows.data(), weights.data(), slots.data(), n, d, out.data());
  for (int64_t i = 0; i < n; ++i)
    for (int64_t c = 0; c < d; ++c)
      EXPECT_FLOAT_EQ(out[rows[i] * d + c], before[rows[i] * d + c] + weights[slots[i]] * y[i * d + c]);
  EXPECT_EQ(out[1 * d], before[1 * d]) << "a row no expert output reaches is left alone";

  std::vector<float> dy(n * d), dw(N * k, 0.0f);
  ops::cpu::weighted_rows_add_backward(y.data(), rows.data(), weights.data(), slots.data(), d_out.data(), n, d,
                                       dy.data(), dw.data());
  auto out_of_y = [&](const Vec& yv) {
    Vec o(N * d, 0.0);
    for (int64_t i = 0; i < n; ++i)
      for (int64_t c = 0; c < d; ++c) o[rows[i] * d + c] += weights[slots[i]] * yv[i * d + c];
    return o;
  };
  auto out_of_w = [&](const Vec& wv) {
    Vec o(N * d, 0.0);
    for (int64_t i = 0; i < n; ++i)
      for (int64_t c = 0; c < d; ++c) o[rows[i] * d + c] += wv[slots[i]] * y[i * d + c];
    return o;
  };
  expect_grad(dy, fd_grad(out_of_y, to_double(y), to_double(d_out)), "dy");
  expect_grad(dw, fd_grad(out_of_w, to_double(weights), to_double(d_out)), "d_weights");
}

TEST(MoeSharedGate, SigmoidRowGateAndItsBackward) {
  const int64_t N = 5, d = 7;
  const auto y = randn(N * d, 48), gate = randn(N, 49, 2.0f), d_out = randn(N * d, 50);
  std::vector<float> out(N * d, 0.0f), dy(N * d), dgate(N);
  ops::cpu::sigmoid_row_gate(y.data(), gate.data(), N, d, out.data());
  for (int64_t t = 0; t < N; ++t) EXPECT_NEAR(out[t * d + 3], sigmoid(gate[t]) * y[t * d + 3], 1e-6);
  ops::cpu::sigmoid_row_gate_backward(y.data(), gate.data(), d_out.data(), N, d, dy.data(), dgate.data());
  auto of_y = [&](const Vec& yv) {
    Vec o(N * d);
    for (int64_t i = 0; i < N * d; ++i) o[i] = sigmoid(gate[i / d]) * yv[i];
    return o;
  };
  auto of_gate = [&](const Vec& g) {
    Vec o(N * d);
    for (int64_t i = 0; i < N * d; ++i) o[i] = sigmoid(g[i / d]) * y[i];
    return o;
  };
  expect_grad(dy, fd_grad(of_y, to_double(y), to_double(d_out)), "dy");
  expect_grad(dgate, fd_grad(of_gate, to_double(gate), to_double(d_out)), "dgate");
}

namespace {

// Nemotron-H's choice written from its definition with sorts: sigmoid scores, corrected by the
// bias; groups ranked by the sum of their two best corrected scores; the best topk_group groups'
// experts ranked by corrected score. Returns the chosen experts in that order.
std::vector<int64_t> naive_grouped_choice(const Vec& s, const std::vector<float>& bias, int64_t n_group,
                                          int64_t topk_group, int64_t k) {
  const int64_t E = static_cast<int64_t>(s.size()), per = E / n_group;
  Vec c(s.size()), group(static_cast<size_t>(n_group));
  for (int64_t e = 0; e < E; ++e) c[e] = s[e] + bias[e];
  for (int64_t g = 0; g < n_group; ++g) {
    Vec members(c.begin() + g * per, c.begin() + (g + 1) * per);
    std::sort(members.begin(), members.end(), std::greater<>());
    group[g] = members[0] + members[1];
  }
  const std::vector<int64_t> kept = naive_top_k(group, topk_group);
  Vec masked(s.size(), -INFINITY);
  for (int64_t g : kept)
    for (int64_t e = g * per; e < (g + 1) * per; ++e) masked[e] = c[e];
  return naive_top_k(masked, k);
}

}  // namespace

TEST(MoeSigmoidRouter, PicksTheGroupedTopKWithTheirWeights) {
  const int64_t N = 11, E = 12, k = 3, n_group = 4, topk_group = 2;
  const double scale = 2.5;
  const auto logits = randn(N * E, 51, 1.5f), bias = randn(E, 52, 0.3f);
  for (bool normalize : {false, true}) {
    std::vector<float> scores(N * E), weights(N * k);
    std::vector<int64_t> experts(N * k);
    ops::cpu::route_sigmoid_grouped(logits.data(), bias.data(), N, E, k, normalize, n_group, topk_group, scale,
                                    scores.data(), experts.data(), weights.data());
    for (int64_t t = 0; t < N; ++t) {
      Vec s(E);
      for (int64_t e = 0; e < E; ++e) s[e] = sigmoid(logits[t * E + e]);
      const std::vector<int64_t> want = naive_grouped_choice(s, bias, n_group, topk_group, k);
      double chosen = 0;
      for (int64_t e : want) chosen += s[e];
      for (int64_t j = 0; j < k; ++j) {
        EXPECT_EQ(experts[t * k + j], want[j]) << "row " << t << " rank " << j;
        // The weights are the uncorrected scores.
        EXPECT_NEAR(weights[t * k + j], scale * (normalize ? s[want[j]] / chosen : s[want[j]]), 1e-6);
      }
      for (int64_t e = 0; e < E; ++e) EXPECT_NEAR(scores[t * E + e], s[e], 1e-7);
    }
  }
}

TEST(MoeSigmoidRouter, TheGroupsAndTheBiasDecideTheChoice) {
  // Three groups of two. Expert 0 has the best score, but its partner is poor, so group 0 ranks
  // last and is dropped; the bias then lifts expert 5 above expert 2.
  const int64_t E = 6, k = 2;
  const std::vector<float> logits = {3.0f, -4.0f, 1.0f, 0.9f, 0.8f, 0.5f};
  const std::vector<float> bias = {0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.2f};
  std::vector<float> scores(E), weights(k);
  std::vector<int64_t> experts(k);
  ops::cpu::route_sigmoid_grouped(logits.data(), bias.data(), 1, E, k, true, 3, 2, 1.0, scores.data(), experts.data(),
                                  weights.data());
  EXPECT_EQ(experts, (std::vector<int64_t>{5, 2}));
  const double s5 = sigmoid(0.5), s2 = sigmoid(1.0);
  EXPECT_NEAR(weights[0], s5 / (s5 + s2), 1e-7);
  EXPECT_NEAR(weights[1], s2 / (s5 + s2), 1e-7);
}

TEST(MoeSigmoidRouter, BackwardMatchesFiniteDifferences) {
  const int64_t N = 5, E = 8, k = 3, n_group = 2, topk_group = 1;
  const double scale = 1.7;
  const auto logits = randn(N * E, 53, 1.5f), bias = randn(E, 54, 0.3f), dw = randn(N * k, 55);
  for (bool normalize : {false, true}) {
    std::vector<float> scores(N * E), weights(N * k), dl(N * E);
    std::vector<int64_t> experts(N * k);
    ops::cpu::route_sigmoid_grouped(logits.data(), bias.data(), N, E, k, normalize, n_group, topk_group, scale,
                                    scores.data(), experts.data(), weights.data());
    ops::cpu::route_sigmoid_backward(scores.data(), experts.data(), weights.data(), dw.data(), N, E, k, normalize,
                                     scale, dl.data());
    auto weights_of = [&](const Vec& l) {
      Vec out;
      for (int64_t t = 0; t < N; ++t) {
        double chosen = 1e-20;
        for (int64_t j = 0; j < k; ++j) chosen += sigmoid(l[t * E + experts[t * k + j]]);
        for (int64_t j = 0; j < k; ++j)
          out.push_back(scale * sigmoid(l[t * E + experts[t * k + j]]) / (normalize ? chosen : 1.0));
      }
      return out;
    };
    expect_grad(dl, fd_grad(weights_of, to_double(logits), to_double(dw)), normalize ? "d_logits, normalized" : "d_logits");
  }
}
