// The CPU's bf16 products (--dtype bf16): oneDNN's tiled GEMM against a double-precision oracle on
// the same bf16 operands, and the row-wise decode kernel against a naive loop that sums in its
// documented order (bit for bit), its AVX-512 BF16 and portable versions against each other; its
// AMX version (whose order is the hardware's) against the double oracle, row by row.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "core/half.h"
#include "ops/cpu/bf16_gemm.h"
#include "ops/cpu/rowwise_amx.h"
#include "ops/cpu/rowwise_bf16.h"

using namespace s0;
using namespace s0::ops::cpu;

namespace {

std::vector<uint16_t> random_bf16(size_t n, float std, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, std);
  std::vector<uint16_t> v(n);
  for (uint16_t& x : v) x = f32_to_bf16(normal(rng));
  return v;
}

float f(uint16_t h) { return bf16_to_f32(h); }

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

// |got - (start + dot(a, b))| over the bound of float32 accumulation of k products (k ulps of the
// magnitude summed), the dot product in double on the same bf16 operands: at most 1 for a sound sum.
double accumulation_error(const uint16_t* a, const uint16_t* b, int64_t k, double start, float got) {
  double exact = start, magnitude = std::abs(start);
  for (int64_t t = 0; t < k; ++t) {
    const double p = static_cast<double>(f(a[t])) * f(b[t]);
    exact += p;
    magnitude += std::abs(p);
  }
  return std::abs(got - exact) / (magnitude * k * 0x1p-24);
}

// Shapes with tails everywhere: rows past one 128-row tile, columns past one 1024-column tile, K
// not a multiple of any vector width.
constexpr int64_t kM = 133, kN = 1031, kK = 301;

}  // namespace

TEST(Bf16Gemm, MatchesADoubleOracleOnTheSameOperands) {
  const std::vector<uint16_t> a = random_bf16(kM * kK, 1.0f, 1), w = random_bf16(kN * kK, 0.05f, 2);
  for (bool trans_b : {true, false}) {
    // trans_b: b is W[n, k]; else b is its transpose [k, n].
    std::vector<uint16_t> b(w.size());
    for (int64_t j = 0; j < kN; ++j)
      for (int64_t t = 0; t < kK; ++t) (trans_b ? b[j * kK + t] : b[t * kN + j]) = w[j * kK + t];
    std::vector<float> c(kM * kN, 0.5f);
    bf16_gemm(kM, kN, kK, a.data(), b.data(), trans_b, c.data(), /*accumulate=*/true);
    double worst = 0;
    for (int64_t i = 0; i < kM; ++i)
      for (int64_t j = 0; j < kN; ++j)
        worst = std::max(worst, accumulation_error(&a[i * kK], &w[j * kK], kK, 0.5, c[i * kN + j]));
    EXPECT_LE(worst, 1.0) << "trans_b " << trans_b;
  }
}

// What makes the products batch invariant (ops/linear.h): each group is its own call, so a group's
// rows only ever meet the tile grid of their own call. Two calls with the same operands agree.
TEST(Bf16Gemm, RepeatsBitForBit) {
  const std::vector<uint16_t> a = random_bf16(kM * kK, 1.0f, 3), w = random_bf16(kN * kK, 0.05f, 4);
  std::vector<float> c1(kM * kN), c2(kM * kN);
  bf16_gemm(kM, kN, kK, a.data(), w.data(), true, c1.data(), false);
  bf16_gemm(kM, kN, kK, a.data(), w.data(), true, c2.data(), false);
  EXPECT_TRUE(same_bits(c1, c2));
}

namespace {

// The row-wise kernel's documented order, one scalar at a time.
float naive_dot(const uint16_t* x, const uint16_t* w, int64_t in) {
  float lane[16] = {};
  for (int64_t k0 = 0; k0 < in; k0 += 32)
    for (int l = 0; l < 16; ++l) {
      const int64_t odd = k0 + 2 * l + 1, even = k0 + 2 * l;
      const float xo = odd < in ? f(x[odd]) : 0.0f, wo = odd < in ? f(w[odd]) : 0.0f;
      const float xe = even < in ? f(x[even]) : 0.0f, we = even < in ? f(w[even]) : 0.0f;
      lane[l] = std::fma(xo, wo, lane[l]);
      lane[l] = std::fma(xe, we, lane[l]);
    }
  for (int width = 8; width > 0; width /= 2)
    for (int l = 0; l < width; ++l) lane[l] += lane[l + width];
  return lane[0];
}

std::vector<float> rowwise(const std::vector<uint16_t>& x, int64_t m, const std::vector<uint16_t>& w,
                           const std::vector<float>& bias, int64_t in, int64_t out, Bf16DotKernel kernel) {
  std::vector<float> y(m * out, 0.25f);
  rowwise_bf16_linear(x.data(), m, w.data(), bias.data(), in, out, y.data(), /*add=*/true, kernel);
  return y;
}

}  // namespace

TEST(RowwiseBf16, SumsInItsDocumentedOrderOnBothKernels) {
  // m = 6 and out = 7: full and edge tiles of 4 rows x 3 columns; in = 301: a tail of 13.
  const int64_t m = 6, in = 301, out = 7;
  const std::vector<uint16_t> x = random_bf16(m * in, 1.0f, 5), w = random_bf16(out * in, 0.05f, 6);
  std::vector<float> bias(out);
  for (int64_t j = 0; j < out; ++j) bias[j] = 0.1f * static_cast<float>(j);
  std::vector<float> want(m * out);
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < out; ++j) want[i * out + j] = 0.25f + (naive_dot(&x[i * in], &w[j * in], in) + bias[j]);
  EXPECT_TRUE(same_bits(rowwise(x, m, w, bias, in, out, Bf16DotKernel::Portable), want));
  if (!cpu_has_avx512_bf16()) GTEST_SKIP() << "no AVX-512 BF16 on this CPU: the portable kernel alone was checked";
  EXPECT_TRUE(same_bits(rowwise(x, m, w, bias, in, out, Bf16DotKernel::Avx512Bf16), want));
}

TEST(RowwiseBf16, ARowDoesNotDependOnTheOtherRows) {
  const int64_t m = 9, in = 256, out = 50;
  const std::vector<uint16_t> x = random_bf16(m * in, 1.0f, 7), w = random_bf16(out * in, 0.05f, 8);
  const std::vector<float> bias(out, 0.0f);
  const std::vector<float> all = rowwise(x, m, w, bias, in, out, Bf16DotKernel::Portable);
  for (int64_t i = 0; i < m; ++i) {
    const std::vector<uint16_t> row(x.begin() + i * in, x.begin() + (i + 1) * in);
    const std::vector<float> alone = rowwise(row, 1, w, bias, in, out, Bf16DotKernel::Portable);
    EXPECT_TRUE(same_bits(alone, std::vector<float>(all.begin() + i * out, all.begin() + (i + 1) * out))) << i;
  }
}

// A precise layer's two parts in one pass over W: the same bits as the high part's call followed by
// the low part's with add, with and without a bias, over W large enough to be split over threads.
TEST(RowwiseBf16, SplitPartsInOnePassMatchTwoCalls) {
  const int64_t m = 6, in = 301, out = 307;
  const std::vector<uint16_t> high = random_bf16(m * in, 1.0f, 9), low = random_bf16(m * in, 0.004f, 10);
  const std::vector<uint16_t> w = random_bf16(out * in, 0.05f, 11);
  std::vector<float> bias(out);
  for (int64_t j = 0; j < out; ++j) bias[j] = 0.01f * static_cast<float>(j);
  for (const float* b : {static_cast<const float*>(nullptr), static_cast<const float*>(bias.data())})
    for (bool add : {false, true}) {
      std::vector<float> two(m * out, 0.25f), one(m * out, 0.25f);
      rowwise_bf16_linear(high.data(), m, w.data(), b, in, out, two.data(), add);
      rowwise_bf16_linear(low.data(), m, w.data(), nullptr, in, out, two.data(), /*add=*/true);
      rowwise_bf16_linear_split(high.data(), low.data(), m, w.data(), b, in, out, one.data(), add);
      EXPECT_TRUE(same_bits(one, two)) << "bias " << (b != nullptr) << " add " << add;
    }
}

// The AMX kernel sums in the hardware's order: against the double oracle, within the bound of float32
// accumulation; and each row alone gives the bits it gives among others, for rows past one 16-row
// tile, columns past one 16-column tile and a K tail (the tile loads whole blocks of 32).
TEST(RowwiseBf16, AmxMatchesTheOracleAndARowDoesNotDependOnTheOtherRows) {
  if (!cpu_has_amx_bf16()) GTEST_SKIP() << "no AMX on this CPU";
  const int64_t m = 19, in = 301, out = 37;
  const std::vector<uint16_t> x = random_bf16(m * in, 1.0f, 12), w = random_bf16(out * in, 0.05f, 13);
  const std::vector<float> bias(out, 0.0f);
  const std::vector<float> all = rowwise(x, m, w, bias, in, out, Bf16DotKernel::Amx);
  double worst = 0;
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < out; ++j)
      worst = std::max(worst, accumulation_error(&x[i * in], &w[j * in], in, 0.25, all[i * out + j]));
    const std::vector<uint16_t> row(x.begin() + i * in, x.begin() + (i + 1) * in);
    const std::vector<float> alone = rowwise(row, 1, w, bias, in, out, Bf16DotKernel::Amx);
    EXPECT_TRUE(same_bits(alone, std::vector<float>(all.begin() + i * out, all.begin() + (i + 1) * out))) << i;
  }
  EXPECT_LE(worst, 1.0);
}
