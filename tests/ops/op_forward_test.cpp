// The float32 CPU forwards against plain float64 loops (tests/ops/naive_ops.h). Inputs are O(1),
// so float32 rounding leaves errors near 1e-7 of the output scale; the 1e-5 relative bound is two
// orders above that and far below what a wrong index, group or mask would produce.
#include <gtest/gtest.h>

#include "attn_shape.h"
#include "naive_ops.h"
#include "ops/cpu/attention.h"
#include "ops/cpu/conv1d.h"
#include "ops/cpu/l2norm.h"
#include "ops/cpu/norm.h"
#include "ops/cpu/rope.h"

using namespace s0;
using naive::randn;
using naive::to_double;

namespace {
constexpr double kRtol = 1e-5;
constexpr double kAtolFrac = 1e-5;
}  // namespace

TEST(OpForward, RmsNorm) {
  const int64_t n = 5, d = 37;
  const float eps = 1e-6f;
  auto x = randn(n * d, 1), w = randn(d, 2, 0.5f, 1.0f);
  std::vector<float> y(n * d), rstd(n);
  ops::cpu::rmsnorm_forward(x.data(), w.data(), n, d, eps, y.data(), rstd.data());
  naive::expect_close(y, naive::rmsnorm(to_double(x), to_double(w), n, d, eps), kRtol, kAtolFrac, "y");
}

class GatedRmsNormForward : public ::testing::TestWithParam<ops::GateOrder> {};

TEST_P(GatedRmsNormForward, MatchesNaive) {
  const ops::GateOrder order = GetParam();
  const int64_t n = 4, d = 24, group = 8;
  const float eps = 1e-5f;
  auto y = randn(n * d, 3), z = randn(n * d, 4, 2.0f), w = randn(d, 5, 0.5f, 1.0f);
  const bool weighted = order != ops::GateOrder::GateOnly;
  std::vector<float> out(n * d);
  ops::cpu::gated_rmsnorm_forward(y.data(), z.data(), weighted ? w.data() : nullptr, n, d, group, eps, order, out.data(),
                             nullptr);
  naive::expect_close(
      out,
      naive::gated_rmsnorm(to_double(y), to_double(z), weighted ? to_double(w) : naive::Vec{}, n, d, group, eps, order),
      kRtol, kAtolFrac, "out");
}

INSTANTIATE_TEST_SUITE_P(Orders, GatedRmsNormForward,
                         ::testing::Values(ops::GateOrder::NormThenGate, ops::GateOrder::GateThenNorm,
                                           ops::GateOrder::GateOnly));

TEST(OpForward, L2Norm) {
  const int64_t n = 6, d = 19;
  auto x = randn(n * d, 6);
  std::vector<float> y(n * d), rnorm(n);
  ops::cpu::l2norm_forward(x.data(), n, d, 1e-6f, y.data(), rnorm.data());
  naive::expect_close(y, naive::l2norm(to_double(x), n, d, 1e-6f), kRtol, kAtolFrac, "y");
}


class AttentionForward : public ::testing::TestWithParam<AttnShape> {};

TEST_P(AttentionForward, MatchesNaiveCausalSoftmax) {
  const auto [T, H, Hkv, D] = GetParam();
  const float scale = 1.0f / std::sqrt(static_cast<float>(D));
  auto q = randn(T * H * D, 7, 1.5f), k = randn(T * Hkv * D, 8, 1.5f), v = randn(T * Hkv * D, 9);
  std::vector<float> out(T * H * D), lse(H * T);
  ops::cpu::attention_forward(q.data(), k.data(), v.data(), T, H, Hkv, D, scale, out.data(), lse.data());
  naive::expect_close(out, naive::attention(to_double(q), to_double(k), to_double(v), T, H, Hkv, D, scale), kRtol,
                      kAtolFrac, "out");
}

INSTANTIATE_TEST_SUITE_P(Shapes, AttentionForward,
                         ::testing::Values(AttnShape{9, 4, 2, 8}, AttnShape{1, 4, 2, 8}, AttnShape{7, 3, 3, 5},
                                           AttnShape{6, 4, 1, 4}));

TEST(OpForward, Conv1dSilu) {
  const int64_t T = 7, C = 5, K = 4;
  auto x = randn(T * C, 10), w = randn(C * K, 11, 0.5f), b = randn(C, 12, 0.1f), hist = randn((K - 1) * C, 13);
  std::vector<float> y(T * C), pre(T * C);
  ops::cpu::conv1d_silu_forward(x.data(), C, w.data(), b.data(), hist.data(), T, C, K, y.data(), pre.data());
  naive::expect_close(y, naive::conv1d_silu(to_double(x), to_double(w), to_double(b), to_double(hist), T, C, K), kRtol,
                      kAtolFrac, "y with history");
  ops::cpu::conv1d_silu_forward(x.data(), C, w.data(), nullptr, nullptr, T, C, K, y.data(), nullptr);
  naive::expect_close(y, naive::conv1d_silu(to_double(x), to_double(w), {}, {}, T, C, K), kRtol, kAtolFrac,
                      "y fresh, no bias");
}

TEST(OpForward, RopeNeox) {
  // Partial rotary (6 of 10 channels) at large positions, where float angles would already be off.
  const int64_t T = 4, H = 3, D = 10, rot = 6;
  const double theta = 1e6;
  const std::vector<int64_t> pos = {0, 1, 4097, 123457};
  auto x = randn(T * H * D, 14);
  std::vector<float> y = x;
  ops::cpu::rope_forward(y.data(), pos.data(), T, H, D, rot, theta);
  naive::expect_close(y, naive::rope(to_double(x), pos, T, H, D, rot, theta), kRtol, kAtolFrac, "y");
}
