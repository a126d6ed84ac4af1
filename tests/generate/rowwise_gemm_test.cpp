// The decode-step GEMM: close to a double-precision product, and each row's result bit-identical
// whatever other rows share the call (odd sizes exercise every tile edge and lane tail).
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "ops/cpu/rowwise_gemm.h"

namespace {

TEST(RowwiseGemm, AccurateAndIndependentOfOtherRows) {
  const int64_t m = 7, in = 131, out = 37;
  std::mt19937 rng(5);
  std::normal_distribution<float> g(0.0f, 1.0f);
  std::vector<float> x(m * in), w(out * in), bias(out);
  for (auto* v : {&x, &w, &bias})
    for (float& e : *v) e = g(rng);
  for (bool precise : {false, true}) {
    auto run = [&](const float* xs, int64_t rows, float* y, bool add) {
      if (precise) s0::ops::cpu::rowwise_linear_f64(xs, rows, w.data(), bias.data(), in, out, y, add);
      else s0::ops::cpu::rowwise_linear(xs, rows, w.data(), bias.data(), in, out, y, add);
    };
    std::vector<float> all(m * out, 0.0f);
    run(x.data(), m, all.data(), false);
    for (int64_t i = 0; i < m; ++i) {
      std::vector<float> one(out, 0.0f);
      run(x.data() + i * in, 1, one.data(), false);
      for (int64_t j = 0; j < out; ++j) {
        EXPECT_EQ(one[j], all[i * out + j]) << "row " << i << " column " << j << (precise ? " precise" : "");
        double ref = bias[j];
        for (int64_t k = 0; k < in; ++k) ref += static_cast<double>(x[i * in + k]) * w[j * in + k];
        EXPECT_NEAR(all[i * out + j], ref, (precise ? 1e-6 : 1e-4) * (1 + std::fabs(ref)));
      }
    }
    std::vector<float> added = all;
    run(x.data(), m, added.data(), true);
    for (size_t e = 0; e < all.size(); ++e) EXPECT_NEAR(added[e], 2 * all[e], 1e-4 * (1 + std::fabs(all[e])));
  }
}

}  // namespace
