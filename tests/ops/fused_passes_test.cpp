// The CPU's fused passes give the bits of the op sequences they replace (the batch- and
// thread-invariance tests are bitwise, and the model's results must not move): GatedDeltaNet's L2
// norm with the head expansion, the gated norm reading z (and writing dz) in place in a wider
// matrix, the per-head RMS norm's backward over column blocks, and the RMS norm backward's bf16
// copy of its result. Shapes large enough that the passes run on every thread.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <string>

#include "core/error.h"
#include "core/half.h"
#include "naive_ops.h"
#include "ops/cpu/heads.h"
#include "ops/cpu/l2norm.h"
#include "ops/cpu/norm.h"
#include "ops/columns.h"
#include "ops/norm.h"

using namespace s0;
using naive::randn;

namespace {

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

void expect_same_bits(const std::vector<float>& got, const std::vector<float>& want, const char* what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  EXPECT_EQ(std::memcmp(got.data(), want.data(), got.size() * sizeof(float)), 0) << what;
}

// Columns [begin, begin + cols) of x[n, ld] as a dense [n, cols].
std::vector<float> block(const std::vector<float>& x, int64_t n, int64_t ld, int64_t begin, int64_t cols) {
  std::vector<float> out(static_cast<size_t>(n * cols));
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < cols; ++j) out[i * cols + j] = x[i * ld + begin + j];
  return out;
}

TEST(FusedPasses, L2NormExpandHeadsIsL2NormThenExpand) {
  const int64_t N = 300, nk = 4, nv = 12, d = 32, ld = 3 * nk * d + 5, begin = nk * d + 3;
  const float eps = 1e-6f, scale = 0.17f;
  const std::vector<float> x = randn(static_cast<size_t>(N * ld), 61), dy = randn(static_cast<size_t>(N * nv * d), 62);
  const std::vector<float> dense = block(x, N, ld, begin, nk * d);

  // Unfused: l2norm, expand; reduce, l2norm backward.
  std::vector<float> normed(dense.size()), rnorm(static_cast<size_t>(N * nk)), want(dy.size());
  ops::cpu::l2norm_forward(dense.data(), N * nk, d, eps, normed.data(), rnorm.data());
  ops::cpu::expand_heads(normed.data(), N, nk, nv, d, scale, want.data());
  std::vector<float> reduced(dense.size()), want_dx(dense.size());
  ops::cpu::reduce_heads(dy.data(), N, nk, nv, d, scale, reduced.data());
  ops::cpu::l2norm_backward(dense.data(), rnorm.data(), reduced.data(), N * nk, d, want_dx.data());

  std::vector<float> got(dy.size(), kNaN), got_rnorm(rnorm.size(), kNaN), dx(x.size(), kNaN);
  ops::cpu::l2norm_expand_heads(x.data() + begin, ld, N, nk, nv, d, eps, scale, got.data(), got_rnorm.data());
  ops::cpu::l2norm_expand_heads_backward(x.data() + begin, ld, got_rnorm.data(), dy.data(), N, nk, nv, d, scale,
                                         dx.data() + begin, ld);
  expect_same_bits(got, want, "expanded heads");
  expect_same_bits(got_rnorm, rnorm, "rnorm");
  expect_same_bits(block(dx, N, ld, begin, nk * d), want_dx, "dx");
  for (int64_t i = 0; i < N; ++i)  // the block only
    EXPECT_TRUE(std::isnan(dx[i * ld + begin - 1]) && std::isnan(dx[i * ld + begin + nk * d])) << "row " << i;
}

TEST(FusedPasses, GatedNormInPlaceIsTheDenseGatedNorm) {
  const int64_t n = 300, d = 256, group = 64, ldz = 3 * d + 7, begin = d + 2;
  for (ops::GateOrder order : {ops::GateOrder::NormThenGate, ops::GateOrder::GateThenNorm, ops::GateOrder::GateOnly}) {
    const std::vector<float> y = randn(static_cast<size_t>(n * d), 71), w = randn(static_cast<size_t>(d), 72, 0.2f, 1.0f);
    const std::vector<float> proj = randn(static_cast<size_t>(n * ldz), 73), dout = randn(static_cast<size_t>(n * d), 74);
    const std::vector<float> z = block(proj, n, ldz, begin, d);
    const float* wp = order == ops::GateOrder::GateOnly ? nullptr : w.data();
    std::vector<float> want(y.size()), rstd(static_cast<size_t>(n * d / group)), want_dy(y.size()), want_dz(y.size());
    ops::cpu::gated_rmsnorm_forward(y.data(), z.data(), wp, n, d, group, 1e-6f, order, want.data(), rstd.data());
    ops::cpu::gated_rmsnorm_backward(y.data(), z.data(), wp, rstd.data(), dout.data(), n, d, group, order,
                                     want_dy.data(), want_dz.data());

    std::vector<float> got(y.size(), kNaN), got_rstd(rstd.size(), kNaN), dy(y.size(), kNaN), dproj(proj.size(), kNaN);
    ops::cpu::gated_rmsnorm_forward_strided(y.data(), proj.data() + begin, ldz, wp, n, d, group, 1e-6f, order,
                                            got.data(), got_rstd.data());
    ops::cpu::gated_rmsnorm_backward_strided(y.data(), proj.data() + begin, ldz, wp, got_rstd.data(), dout.data(), n,
                                             d, group, order, dy.data(), dproj.data() + begin, ldz);
    const std::string tag = " (order " + std::to_string(static_cast<int>(order)) + ")";
    expect_same_bits(got, want, ("out" + tag).c_str());
    if (order != ops::GateOrder::GateOnly) expect_same_bits(got_rstd, rstd, ("rstd" + tag).c_str());
    expect_same_bits(dy, want_dy, ("dy" + tag).c_str());
    expect_same_bits(block(dproj, n, ldz, begin, d), want_dz, ("dz" + tag).c_str());
  }
}

}  // namespace

// The per-head RMS norm's backward over a projection's column block (attention's q and k norms)
// gives the bits of the contiguous op, and writes only its block of the gradient.
TEST(FusedPasses, HeadRmsNormBackwardOnColumnsIsTheContiguousOne) {
  const int64_t N = 40, heads = 3, d = 64, width = 5 + heads * d + 7, begin = 5;
  const Tensor proj = Tensor::from({N, width}, randn(static_cast<size_t>(N * width), 63));
  const Tensor w = Tensor::from({d}, randn(static_cast<size_t>(d), 64, 0.2f, 1.0f));
  const Tensor dy = Tensor::from({N * heads, d}, randn(static_cast<size_t>(N * heads * d), 65));
  const Tensor x = ops::copy_columns(ops::columns(proj, begin, heads * d)).reshaped({N * heads, d});
  Tensor y = Tensor::zeros({N * heads, d}), rstd = Tensor::zeros({N * heads}), want = Tensor::zeros({N * heads, d});
  ops::rmsnorm_forward(x, w, 1e-6f, y, rstd);
  ops::rmsnorm_backward(x, w, rstd, dy, want, false);
  Tensor dproj = Tensor::from({N, width}, std::vector<float>(static_cast<size_t>(N * width), kNaN));
  ops::rmsnorm_backward(ops::columns(proj, begin, heads * d), w, rstd, dy, ops::columns(dproj, begin, heads * d));
  const std::vector<float> all(dproj.f32(), dproj.f32() + N * width);
  expect_same_bits(block(all, N, width, begin, heads * d), std::vector<float>(want.f32(), want.f32() + want.numel()),
                   "dx");
  for (int64_t i = 0; i < N; ++i)  // the block only
    EXPECT_TRUE(std::isnan(all[i * width + begin - 1]) && std::isnan(all[i * width + begin + heads * d]))
        << "row " << i;
}

// The residual stream's gradient with its bf16 copy (model/backward.cpp asks for it only on a GPU):
// on the CPU too the copy is each dx entry rounded, dx itself unchanged; a copy that is not bf16 of
// dx's size is refused.
TEST(FusedPasses, RmsNormBackwardRoundedCopyIsTheRoundingOfDx) {
  const int64_t n = 7, d = 300;
  const Tensor x = Tensor::from({n, d}, randn(static_cast<size_t>(n * d), 80, 2.0f));
  const Tensor w = Tensor::from({d}, randn(static_cast<size_t>(d), 81, 0.2f, 1.0f));
  const Tensor dy = Tensor::from({n, d}, randn(static_cast<size_t>(n * d), 82));
  const Tensor dx0 = Tensor::from({n, d}, randn(static_cast<size_t>(n * d), 83));
  Tensor y = Tensor::zeros({n, d}), rstd = Tensor::zeros({n});
  ops::rmsnorm_forward(x, w, 1e-6f, y, rstd);
  for (bool accumulate : {false, true}) {
    Tensor plain = dx0.clone(), fused = dx0.clone(), rounded = Tensor::empty({n, d}, DType::BF16);
    ops::rmsnorm_backward(x, w, rstd, dy, plain, accumulate);
    ops::rmsnorm_backward(x, w, rstd, dy, fused, accumulate, &rounded);
    EXPECT_EQ(std::memcmp(plain.f32(), fused.f32(), plain.nbytes()), 0);
    int64_t wrong = 0;
    for (int64_t i = 0; i < n * d; ++i) wrong += rounded.as<uint16_t>()[i] != f32_to_bf16(fused.f32()[i]);
    EXPECT_EQ(wrong, 0) << (accumulate ? "accumulate" : "overwrite");
  }
  for (Tensor bad : {Tensor::empty({n, d}), Tensor::empty({n, d - 1}, DType::BF16)}) {
    Tensor dx = dx0.clone();
    EXPECT_THROW(ops::rmsnorm_backward(x, w, rstd, dy, dx, false, &bad), Error);
  }
}
