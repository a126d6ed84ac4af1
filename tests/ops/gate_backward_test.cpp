// The pointwise ops the mixers apply between their projections and recurrences (gates, grouped
// heads, picked rows), each backward against central finite differences of a float64 forward
// written here from the op's definition. Gates read and write columns of a wider matrix in place,
// so every input sits at a column offset of rows with a larger stride.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "finite_differences.h"
#include "naive_ops.h"
#include "ops/cpu/gates.h"
#include "ops/cpu/heads.h"
#include "ops/cpu/rows.h"
#include "ops/rows.h"
#include "support/test_support.h"

using namespace s0;
using naive::expect_grad;
using naive::fd_grad;
using naive::randn;
using naive::to_double;
using naive::Vec;

namespace {

const float kNaN = std::numeric_limits<float>::quiet_NaN();

double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }
double softplus(double x) { return x > 20.0 ? x : std::log1p(std::exp(x)); }

// Columns [begin, begin + cols) of `rows` rows with stride ld, packed densely.
Vec dense_columns(const std::vector<float>& strided, int64_t rows, int64_t ld, int64_t begin, int64_t cols) {
  Vec out;
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j) out.push_back(strided[i * ld + begin + j]);
  return out;
}

}  // namespace

TEST(GateBackward, GatedDelta) {
  const int64_t N = 4, H = 3, ld = 2 * H + 5, b_at = 2, a_at = b_at + H;
  auto proj = randn(N * ld, 21, 2.0f), neg_A = randn(H, 22, 0.5f, -1.0f), bias = randn(H, 23);
  auto dbeta = randn(N * H, 24), dg = randn(N * H, 25);
  std::vector<float> beta(N * H), g(N * H), dproj(N * ld, kNaN);
  ops::cpu::gated_delta_gates_forward(proj.data() + b_at, proj.data() + a_at, ld, neg_A.data(), bias.data(), N, H,
                                      beta.data(), g.data());
  ops::cpu::gated_delta_gates_backward(proj.data() + a_at, ld, neg_A.data(), bias.data(), beta.data(), dbeta.data(),
                                       dg.data(), N, H, dproj.data() + b_at, dproj.data() + a_at);
  const Vec b = dense_columns(proj, N, ld, b_at, H), a = dense_columns(proj, N, ld, a_at, H);
  auto beta_of = [&](const Vec& v) {
    Vec out(v.size());
    for (size_t i = 0; i < v.size(); ++i) out[i] = sigmoid(v[i]);
    return out;
  };
  auto g_of = [&](const Vec& v) {
    Vec out(v.size());
    for (size_t i = 0; i < v.size(); ++i) out[i] = neg_A[i % H] * softplus(v[i] + bias[i % H]);
    return out;
  };
  const Vec want_db = fd_grad(beta_of, b, to_double(dbeta)), want_da = fd_grad(g_of, a, to_double(dg));
  std::vector<float> db, da;
  for (double v : dense_columns(dproj, N, ld, b_at, H)) db.push_back(static_cast<float>(v));
  for (double v : dense_columns(dproj, N, ld, a_at, H)) da.push_back(static_cast<float>(v));
  expect_grad(db, want_db, "db");
  expect_grad(da, want_da, "da");
}

TEST(GateBackward, Mamba2DtPassesGradientInsideTheClampOnly) {
  const int64_t N = 6, H = 4, ld = H + 3, at = 3;
  const float dt_min = 0.05f, dt_max = 2.0f;
  auto raw = randn(N * ld, 31, 3.0f), bias = randn(H, 32), ddt = randn(N * H, 33);
  std::vector<float> dt(N * H), draw(N * ld, kNaN);
  ops::cpu::mamba2_dt_forward(raw.data() + at, ld, bias.data(), dt_min, dt_max, N, H, dt.data());
  ops::cpu::mamba2_dt_backward(raw.data() + at, ld, bias.data(), dt_min, dt_max, ddt.data(), N, H,
                               draw.data() + at);
  const auto clipped = std::count_if(dt.begin(), dt.end(), [&](float v) { return v == dt_min || v == dt_max; });
  ASSERT_GT(clipped, 0) << "the inputs must reach the clamp";
  ASSERT_LT(clipped, N * H) << "the inputs must also stay inside it";
  auto dt_of = [&](const Vec& v) {
    Vec out(v.size());
    for (size_t i = 0; i < v.size(); ++i)
      out[i] = std::clamp(softplus(v[i] + bias[i % H]), double{dt_min}, double{dt_max});
    return out;
  };
  std::vector<float> got;
  for (double v : dense_columns(draw, N, ld, at, H)) got.push_back(static_cast<float>(v));
  expect_grad(got, fd_grad(dt_of, dense_columns(raw, N, ld, at, H), to_double(ddt)), "draw");
}

TEST(GateBackward, SigmoidOutputGate) {
  const int64_t N = 3, d = 8, ld = 2 * d + 1, at = d;
  auto o = randn(N * d, 41), proj = randn(N * ld, 42, 2.0f), dout = randn(N * d, 43);
  std::vector<float> out(N * d), dproj(N * ld, kNaN), d_o = dout;
  ops::cpu::sigmoid_gate_forward(o.data(), proj.data() + at, ld, N, d, out.data());
  ops::cpu::sigmoid_gate_backward(o.data(), proj.data() + at, ld, d_o.data(), N, d, dproj.data() + at, d_o.data());
  const Vec gate = dense_columns(proj, N, ld, at, d), od = to_double(o);
  auto gated = [&](const Vec& ov, const Vec& gv) {
    Vec y(ov.size());
    for (size_t i = 0; i < ov.size(); ++i) y[i] = ov[i] * sigmoid(gv[i]);
    return y;
  };
  std::vector<float> dgate;
  for (double v : dense_columns(dproj, N, ld, at, d)) dgate.push_back(static_cast<float>(v));
  expect_grad(d_o, fd_grad([&](const Vec& v) { return gated(v, gate); }, od, to_double(dout)), "do (in place)");
  expect_grad(dgate, fd_grad([&](const Vec& v) { return gated(od, v); }, gate, to_double(dout)), "dgate");
}

TEST(GateBackward, ReduceHeadsIsTheAdjointOfExpandHeads) {
  const int64_t N = 2, nk = 2, nv = 6, d = 5;
  const float scale = 0.3f;
  auto x = randn(N * nk * d, 51), dy = randn(N * nv * d, 52);
  std::vector<float> y(N * nv * d), dx(N * nk * d, kNaN);
  ops::cpu::expand_heads(x.data(), N, nk, nv, d, scale, y.data());
  ops::cpu::reduce_heads(dy.data(), N, nk, nv, d, scale, dx.data());
  auto expand = [&](const Vec& v) {
    Vec out(static_cast<size_t>(N * nv * d));
    for (int64_t t = 0; t < N; ++t)
      for (int64_t h = 0; h < nv; ++h)
        for (int64_t i = 0; i < d; ++i) out[(t * nv + h) * d + i] = scale * v[(t * nk + h / (nv / nk)) * d + i];
    return out;
  };
  expect_grad(dx, fd_grad(expand, to_double(x), to_double(dy)), "dx");
}

TEST(GateBackward, ScatterAddRowsIsTheAdjointOfGatherRows) {
  const int64_t rows = 5, d = 4;
  const float scale = 1.5f;
  const std::vector<int64_t> index = {3, 0, 3, 4};  // a repeated row sums both gradients
  const int64_t n = static_cast<int64_t>(index.size());
  auto table = randn(rows * d, 61), dy = randn(n * d, 62);
  std::vector<float> picked(n * d), dtable(rows * d, 0.0f);
  ops::cpu::gather_rows(table.data(), index.data(), n, d, scale, picked.data());
  ops::cpu::scatter_add_rows(dy.data(), index.data(), n, d, scale, dtable.data());
  auto gather = [&](const Vec& v) {
    Vec out;
    for (int64_t r : index)
      for (int64_t j = 0; j < d; ++j) out.push_back(scale * v[r * d + j]);
    return out;
  };
  expect_grad(dtable, fd_grad(gather, to_double(table), to_double(dy)), "dtable");
}

// A step's token ids: the prompts' from the host, the decodes' taken from the last step's chosen
// tokens where they are; the embedding then gathers by that I64 tensor as by the host's ids.
TEST(GateBackward, TokenIdsTakenOrKeptAndGatheredByATensor) {
  Tensor chosen = Tensor::empty({4}, DType::I64);
  const std::vector<int64_t> last = {11, 2, 7, 5};
  std::copy(last.begin(), last.end(), static_cast<int64_t*>(chosen.raw_mut()));
  const Tensor ids = ops::take_or_keep_i64({-1, -1, 9, 1, 0}, chosen, {3, 0, -1, -1, -1});
  EXPECT_EQ(ids.to_i64(), (std::vector<int64_t>{5, 11, 9, 1, 0}));
  const Tensor table = Tensor::from({12, 3}, randn(36, 75));
  const Tensor by_tensor = ops::gather_rows(table, ids, 2.0f), by_host = ops::gather_rows(table, ids.to_i64(), 2.0f);
  EXPECT_EQ(std::memcmp(by_tensor.f32(), by_host.f32(), by_host.nbytes()), 0);
  EXPECT_EQ(by_tensor.f32()[0], 2.0f * table.f32()[5 * 3]);
  EXPECT_NE(test::error_of([&] { ops::take_or_keep_i64({0}, chosen, {4}); }).find("entry 4 of 4"), std::string::npos);
}

// ops::add_ with several sources is one add after another, cell by cell in the list's order (the
// objective's per-sequence state gradients, summed in sequence order).
TEST(GateBackward, AddOfSeveralSourcesIsOneAddAfterAnother) {
  const Tensor a = Tensor::from({3, 5}, randn(15, 71)), b = Tensor::from({3, 5}, randn(15, 72));
  const Tensor c = Tensor::from({3, 5}, randn(15, 73));
  Tensor sum = a.clone();
  ops::add_(sum, {b, c, b});
  for (int64_t i = 0; i < 15; ++i) EXPECT_EQ(sum.f32()[i], ((a.f32()[i] + b.f32()[i]) + c.f32()[i]) + b.f32()[i]) << i;
  Tensor unchanged = a.clone();
  ops::add_(unchanged, {});
  EXPECT_EQ(std::memcmp(unchanged.f32(), a.f32(), 15 * sizeof(float)), 0);
  EXPECT_EQ(test::error_of([&] { ops::add_(sum, {Tensor::from({15}, randn(15, 74))}); }),
            "internal: add_ of differently shaped tensors");
}
