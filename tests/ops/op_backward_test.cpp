// Every CPU backward against central finite differences of the float64 forward
// (tests/ops/naive_ops.h) for the loss L = sum(dy * y), dy random. Differencing in float64 with
// h = 1e-5 leaves truncation (~h^2) and rounding (~1e-16 / h) errors below 1e-9 of the gradient
// scale, so the bound below (1e-5 relative, plus 1e-5 of max(largest gradient, 1)) measures only
// the float32 backward's own rounding: observed under 1e-7 for every op but attention (under
// 1e-6), a margin of 10 to 100. A dropped term, a wrong index or a missed head is off by a large
// fraction of the scale.
#include <gtest/gtest.h>

#include <limits>

#include "core/error.h"
#include "attn_shape.h"
#include "finite_differences.h"
#include "naive_ops.h"
#include "ops/cpu/activation.h"
#include "ops/cpu/attention.h"
#include "ops/cpu/conv1d.h"
#include "ops/cpu/cross_entropy.h"
#include "ops/cpu/gemm.h"
#include "ops/cpu/l2norm.h"
#include "ops/cpu/norm.h"
#include "ops/cpu/rope.h"

using namespace s0;
using naive::expect_grad;
using naive::fd_grad;
using naive::randn;
using naive::to_double;
using naive::Vec;

namespace {

const float kNaN = std::numeric_limits<float>::quiet_NaN();

}  // namespace

TEST(OpBackward, RmsNorm) {
  const int64_t n = 5, d = 37;
  const float eps = 1e-6f;
  auto x = randn(n * d, 1), w = randn(d, 2, 0.5f, 1.0f), dy = randn(n * d, 3);
  std::vector<float> y(n * d), rstd(n), dx(n * d, kNaN);
  ops::cpu::rmsnorm_forward(x.data(), w.data(), n, d, eps, y.data(), rstd.data());
  ops::cpu::rmsnorm_backward(x.data(), w.data(), rstd.data(), dy.data(), n, d, dx.data(), false);
  const Vec want =
      fd_grad([&](const Vec& xx) { return naive::rmsnorm(xx, to_double(w), n, d, eps); }, to_double(x), to_double(dy));
  expect_grad(dx, want, "dx");

  // accumulate adds onto what dx holds.
  std::vector<float> acc(n * d, 0.25f);
  ops::cpu::rmsnorm_backward(x.data(), w.data(), rstd.data(), dy.data(), n, d, acc.data(), true);
  Vec want_acc = want;
  for (double& v : want_acc) v += 0.25;
  expect_grad(acc, want_acc, "dx accumulated");
}

class GatedRmsNormBackward : public ::testing::TestWithParam<ops::GateOrder> {};

TEST_P(GatedRmsNormBackward, MatchesFiniteDifferences) {
  const ops::GateOrder order = GetParam();
  const int64_t n = 3, d = 12, group = 4;  // three groups per row
  const float eps = 1e-5f;
  auto y = randn(n * d, 4), z = randn(n * d, 5, 2.0f), w = randn(d, 6, 0.5f, 1.0f), dout = randn(n * d, 7);
  const bool weighted = order != ops::GateOrder::GateOnly;
  const float* wp = weighted ? w.data() : nullptr;
  const Vec wd = weighted ? to_double(w) : Vec{};
  std::vector<float> out(n * d), rstd(n * d / group), dy(n * d, kNaN), dz(n * d, kNaN);
  ops::cpu::gated_rmsnorm_forward(y.data(), z.data(), wp, n, d, group, eps, order, out.data(), rstd.data());
  ops::cpu::gated_rmsnorm_backward(y.data(), z.data(), wp, weighted ? rstd.data() : nullptr, dout.data(), n, d, group, order,
                              dy.data(), dz.data());
  const Vec yd = to_double(y), zd = to_double(z), dd = to_double(dout);
  expect_grad(dy,
              fd_grad([&](const Vec& v) { return naive::gated_rmsnorm(v, zd, wd, n, d, group, eps, order); }, yd, dd),
              "dy");
  expect_grad(dz,
              fd_grad([&](const Vec& v) { return naive::gated_rmsnorm(yd, v, wd, n, d, group, eps, order); }, zd, dd),
              "dz");
}

INSTANTIATE_TEST_SUITE_P(Orders, GatedRmsNormBackward,
                         ::testing::Values(ops::GateOrder::NormThenGate, ops::GateOrder::GateThenNorm,
                                           ops::GateOrder::GateOnly));

TEST(OpBackward, L2Norm) {
  const int64_t n = 4, d = 9;
  const float eps = 1e-6f;
  auto x = randn(n * d, 8), dy = randn(n * d, 9);
  std::vector<float> y(n * d), rnorm(n), dx(n * d, kNaN);
  ops::cpu::l2norm_forward(x.data(), n, d, eps, y.data(), rnorm.data());
  ops::cpu::l2norm_backward(x.data(), rnorm.data(), dy.data(), n, d, dx.data());
  expect_grad(dx, fd_grad([&](const Vec& v) { return naive::l2norm(v, n, d, eps); }, to_double(x), to_double(dy)),
              "dx");
}


class AttentionBackward : public ::testing::TestWithParam<AttnShape> {};

TEST_P(AttentionBackward, MatchesFiniteDifferences) {
  const auto [T, H, Hkv, D] = GetParam();
  const float scale = 1.0f / std::sqrt(static_cast<float>(D));
  auto q = randn(T * H * D, 10, 1.5f), k = randn(T * Hkv * D, 11, 1.5f), v = randn(T * Hkv * D, 12),
       dout = randn(T * H * D, 13);
  std::vector<float> out(T * H * D), lse(H * T);
  ops::cpu::attention_forward(q.data(), k.data(), v.data(), T, H, Hkv, D, scale, out.data(), lse.data());
  // NaN-filled outputs: the backward must overwrite dk and dv, not add to them.
  std::vector<float> dq(T * H * D, kNaN), dk(T * Hkv * D, kNaN), dv(T * Hkv * D, kNaN);
  ops::cpu::attention_backward(q.data(), k.data(), v.data(), out.data(), lse.data(), dout.data(), T, H, Hkv, D, scale,
                          dq.data(), dk.data(), dv.data());
  const Vec qd = to_double(q), kd = to_double(k), vd = to_double(v), dd = to_double(dout);
  expect_grad(dq, fd_grad([&](const Vec& x) { return naive::attention(x, kd, vd, T, H, Hkv, D, scale); }, qd, dd),
              "dq");
  expect_grad(dk, fd_grad([&](const Vec& x) { return naive::attention(qd, x, vd, T, H, Hkv, D, scale); }, kd, dd),
              "dk");
  expect_grad(dv, fd_grad([&](const Vec& x) { return naive::attention(qd, kd, x, T, H, Hkv, D, scale); }, vd, dd),
              "dv");
}

// GQA, one token, plain multi-head with odd sizes, and one shared key/value head.
INSTANTIATE_TEST_SUITE_P(Shapes, AttentionBackward,
                         ::testing::Values(AttnShape{6, 4, 2, 8}, AttnShape{1, 4, 2, 8}, AttnShape{5, 3, 3, 5},
                                           AttnShape{7, 4, 1, 4}));

struct ConvShape {
  int64_t T, C, K;
  bool history;
};

void PrintTo(const ConvShape& s, std::ostream* os) {
  *os << "T=" << s.T << " C=" << s.C << " K=" << s.K << (s.history ? " with history" : "");
}

class Conv1dBackward : public ::testing::TestWithParam<ConvShape> {};

TEST_P(Conv1dBackward, MatchesFiniteDifferences) {
  const auto [T, C, K, with_history] = GetParam();
  auto x = randn(T * C, 14), w = randn(C * K, 15, 0.5f), b = randn(C, 16, 0.1f), hist = randn((K - 1) * C, 17),
       dy = randn(T * C, 18);
  const float* hp = with_history ? hist.data() : nullptr;
  const Vec hd = with_history ? to_double(hist) : Vec{};
  std::vector<float> y(T * C), pre(T * C), dx(T * C, kNaN);
  ops::cpu::conv1d_silu_forward(x.data(), C, w.data(), b.data(), hp, T, C, K, y.data(), pre.data());
  ops::cpu::conv1d_silu_backward(w.data(), pre.data(), dy.data(), T, C, K, dx.data(), C);
  expect_grad(dx,
              fd_grad([&](const Vec& v) { return naive::conv1d_silu(v, to_double(w), to_double(b), hd, T, C, K); },
                      to_double(x), to_double(dy)),
              "dx");
}

// Fresh sequences (no history) with K = 4, a sequence shorter than the kernel, one token, and a
// continued sequence.
INSTANTIATE_TEST_SUITE_P(Shapes, Conv1dBackward,
                         ::testing::Values(ConvShape{7, 5, 4, false}, ConvShape{2, 3, 4, false},
                                           ConvShape{1, 3, 4, false}, ConvShape{6, 4, 3, true}));

TEST(OpBackward, Rope) {
  const int64_t T = 3, H = 2, D = 10, rot = 6;
  const double theta = 1e4;
  const std::vector<int64_t> pos = {0, 5, 3001};
  auto x = randn(T * H * D, 19), dy = randn(T * H * D, 20);
  std::vector<float> dx = dy;
  ops::cpu::rope_backward(dx.data(), pos.data(), T, H, D, rot, theta);
  expect_grad(
      dx, fd_grad([&](const Vec& v) { return naive::rope(v, pos, T, H, D, rot, theta); }, to_double(x), to_double(dy)),
      "dx");
}

TEST(OpBackward, SwiGlu) {
  const int64_t n = 3, inter = 6;
  auto gu = randn(n * 2 * inter, 21, 2.0f), dh = randn(n * inter, 22);
  std::vector<float> dgu(n * 2 * inter, kNaN);
  ops::cpu::swiglu_backward(gu.data(), dh.data(), n, inter, dgu.data());
  auto swiglu = [&](const Vec& v) {
    Vec h(static_cast<size_t>(n * inter));
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < inter; ++j)
        h[i * inter + j] = naive::silu(v[i * 2 * inter + j]) * v[i * 2 * inter + inter + j];
    return h;
  };
  expect_grad(dgu, fd_grad(swiglu, to_double(gu), to_double(dh)), "dgu");
}

TEST(OpBackward, ReluSquared) {
  const int64_t count = 40;
  auto u = randn(count, 26, 2.0f), dh = randn(count, 27);
  std::vector<float> h(count, kNaN), du(count, kNaN);
  ops::cpu::relu2_forward(u.data(), count, h.data());
  for (int64_t i = 0; i < count; ++i) EXPECT_EQ(h[i], u[i] > 0 ? u[i] * u[i] : 0.0f);
  ops::cpu::relu2_backward(u.data(), dh.data(), count, du.data());
  auto relu2 = [&](const Vec& v) {
    Vec out(v.size());
    for (size_t i = 0; i < v.size(); ++i) out[i] = v[i] > 0 ? v[i] * v[i] : 0.0;
    return out;
  };
  expect_grad(du, fd_grad(relu2, to_double(u), to_double(dh)), "du");
}

TEST(OpBackward, Linear) {
  const int64_t n = 4, in = 7, out = 5;
  auto x = randn(n * in, 23), w = randn(out * in, 24), dy = randn(n * out, 25);
  std::vector<float> dx(n * in, kNaN);
  ops::cpu::linear_backward(dy.data(), n, w.data(), in, out, dx.data(), false);
  auto linear = [&](const Vec& v) {
    Vec y(static_cast<size_t>(n * out), 0.0);
    for (int64_t i = 0; i < n; ++i)
      for (int64_t o = 0; o < out; ++o)
        for (int64_t j = 0; j < in; ++j) y[i * out + o] += v[i * in + j] * w[o * in + j];
    return y;
  };
  expect_grad(dx, fd_grad(linear, to_double(x), to_double(dy)), "dx");
}

TEST(OpBackward, CrossEntropy) {
  const int64_t P = 4, V = 11;
  auto logits = randn(P * V, 26, 2.0f);
  const std::vector<int32_t> targets = {3, 0, 10, 3};
  // The trainer's weights: 1 / (completion tokens of the example * examples), here 2 examples of
  // 3 and 1 tokens.
  const std::vector<float> weights = {1.0f / 6, 1.0f / 6, 1.0f / 6, 1.0f / 2};
  const Vec row_loss = naive::cross_entropy(to_double(logits), targets, P, V);

  std::vector<float> losses(P);
  ops::cpu::cross_entropy_forward(logits.data(), targets.data(), P, V, losses.data());
  naive::expect_close(losses, row_loss, 1e-6, 1e-6, "per-row losses");

  std::vector<float> dlogits(P * V, kNaN);
  const double loss =
      ops::cpu::cross_entropy_forward_backward(logits.data(), targets.data(), weights.data(), P, V, dlogits.data());
  double want_loss = 0;
  for (int64_t p = 0; p < P; ++p) want_loss += static_cast<double>(weights[p]) * row_loss[p];
  EXPECT_NEAR(loss, want_loss, 1e-6 * std::abs(want_loss));
  // d(sum_p weight_p loss_p) is the FD gradient with dy = weights.
  expect_grad(dlogits,
              fd_grad([&](const Vec& v) { return naive::cross_entropy(v, targets, P, V); }, to_double(logits),
                      to_double(weights)),
              "dlogits");

  // In place gives the same gradient.
  std::vector<float> inplace = logits;
  EXPECT_EQ(ops::cpu::cross_entropy_forward_backward(inplace.data(), targets.data(), weights.data(), P, V, inplace.data()),
            loss);
  EXPECT_EQ(inplace, dlogits);
}

TEST(OpBackward, CrossEntropyIsStableForLargeLogits) {
  // Softmax is shift-invariant: logits near 1e4 (exp overflows float and double) give the same
  // loss and gradient as the unshifted ones, up to the float32 spacing at 1e4 (~1e-3).
  const int64_t P = 2, V = 7;
  auto logits = randn(P * V, 27);
  const std::vector<int32_t> targets = {1, 6};
  std::vector<float> shifted = logits;
  for (float& v : shifted) v += 1e4f;
  std::vector<float> d(P * V), d_shifted(P * V);
  const double loss = ops::cpu::cross_entropy_forward_backward(logits.data(), targets.data(), nullptr, P, V, d.data());
  const double loss_shifted =
      ops::cpu::cross_entropy_forward_backward(shifted.data(), targets.data(), nullptr, P, V, d_shifted.data());
  ASSERT_TRUE(std::isfinite(loss_shifted));
  EXPECT_NEAR(loss_shifted, loss, 1e-2);
  for (int64_t i = 0; i < P * V; ++i) EXPECT_NEAR(d_shifted[i], d[i], 1e-2) << i;
}

TEST(OpBackward, CrossEntropyRejectsTargetOutsideVocabulary) {
  const std::vector<float> logits(6, 0.0f);
  const std::vector<int32_t> targets = {1, 3};
  std::vector<float> d(6);
  EXPECT_THROW(ops::cpu::cross_entropy_forward_backward(logits.data(), targets.data(), nullptr, 2, 3, d.data()), Error);
}
