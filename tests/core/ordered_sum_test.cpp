// The trainer's host sums and checks run on every core (core/ordered_sum.h, core/finite.h): the same
// bits for any thread count, close to a plain double sum, and every non-finite value found.
#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "core/finite.h"
#include "core/ordered_sum.h"

namespace s0 {
namespace {

// Runs f with `threads` OpenMP threads, then restores the previous count.
template <class F>
auto with_threads(int threads, F f) {
  const int before = omp_get_max_threads();
  omp_set_num_threads(threads);
  auto result = f();
  omp_set_num_threads(before);
  return result;
}

std::vector<float> random_values(int64_t n) {
  std::mt19937 rng(7);
  std::normal_distribution<float> noise(0.0f, 3.0f);
  std::vector<float> x(static_cast<size_t>(n));
  for (float& v : x) v = noise(rng);
  return x;
}

TEST(OrderedSum, SameBitsForAnyThreadCountAndCloseToThePlainSum) {
  // Sizes around the block: less than one, exactly one, several with a ragged last block.
  for (int64_t n : {int64_t{1000}, kOrderedSumBlock, 5 * kOrderedSumBlock + 123}) {
    const std::vector<float> x = random_values(n);
    const double one = with_threads(1, [&] { return sum_of_squares(x.data(), n); });
    double plain = 0;
    for (float v : x) plain += static_cast<double>(v) * v;
    EXPECT_NEAR(one, plain, 1e-12 * plain) << n;
    for (int threads : {2, 3, 8}) {
      const double many = with_threads(threads, [&] { return sum_of_squares(x.data(), n); });
      EXPECT_EQ(std::memcmp(&one, &many, sizeof one), 0) << n << " values, " << threads << " threads";
    }
  }
}

TEST(OrderedSum, TermsAreSummedOverTheWholeRange) {
  const int64_t n = 3 * kOrderedSumBlock + 5;
  EXPECT_EQ(ordered_sum(n, [](int64_t) { return 1.0; }), static_cast<double>(n));
  EXPECT_EQ(ordered_sum(0, [](int64_t) { return 1.0; }), 0.0);
}

TEST(AllFinite, FindsANonFiniteValueAnywhere) {
  const int64_t n = 4 * kOrderedSumBlock + 17;
  std::vector<float> x = random_values(n);
  EXPECT_TRUE(with_threads(4, [&] { return all_finite(x.data(), n); }));
  for (int64_t at : {int64_t{0}, n / 2, n - 1})
    for (float bad : {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(),
                      -std::numeric_limits<float>::infinity()}) {
      std::vector<float> y = x;
      y[static_cast<size_t>(at)] = bad;
      EXPECT_FALSE(with_threads(4, [&] { return all_finite(y.data(), n); })) << at;
      EXPECT_EQ(first_non_finite(y.data(), n), at);
    }
}

}  // namespace
}  // namespace s0
