#include "eval/metrics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <numbers>

#include "core/error.h"

using namespace s0;

TEST(PassAtK, HandComputedValues) {
  EXPECT_DOUBLE_EQ(pass_at_k(1, 1, 1), 1.0);
  EXPECT_DOUBLE_EQ(pass_at_k(1, 0, 1), 0.0);
  EXPECT_DOUBLE_EQ(pass_at_k(10, 3, 1), 0.3);                      // c / n
  EXPECT_NEAR(pass_at_k(10, 3, 5), 1.0 - 21.0 / 252.0, 1e-12);     // 1 - C(7,5)/C(10,5)
  EXPECT_NEAR(pass_at_k(16, 2, 5), 1.0 - 2002.0 / 4368.0, 1e-12);  // 1 - C(14,5)/C(16,5)
  EXPECT_NEAR(pass_at_k(20, 1, 10), 0.5, 1e-12);                   // 1 - C(19,10)/C(20,10)
  EXPECT_DOUBLE_EQ(pass_at_k(10, 6, 5), 1.0);                      // fewer than k failures
  EXPECT_DOUBLE_EQ(pass_at_k(10, 0, 10), 0.0);
  EXPECT_NEAR(pass_at_k(1000, 1, 1), 0.001, 1e-15);  // no overflow for large n
  EXPECT_THROW(pass_at_k(4, 1, 5), Error);
  EXPECT_THROW(pass_at_k(4, 5, 1), Error);
}

TEST(MeanStd, SampleStandardDeviation) {
  MeanStd m = mean_std({2, 4, 4, 4, 5, 5, 7, 9});
  EXPECT_DOUBLE_EQ(m.mean, 5.0);
  EXPECT_NEAR(m.std, std::sqrt(32.0 / 7.0), 1e-12);
  EXPECT_EQ(mean_std({3}).std, 0.0);
}

TEST(StudentT, ClosedFormsAndTables) {
  for (double t : {-3.0, -0.5, 0.0, 0.7, 2.0, 10.0}) {
    EXPECT_NEAR(student_t_cdf(t, 1), 0.5 + std::atan(t) / std::numbers::pi, 1e-12);  // Cauchy
    EXPECT_NEAR(student_t_cdf(t, 2), 0.5 + t / (2 * std::sqrt(2 + t * t)), 1e-12);
  }
  // Two-sided critical values from the t table, checked by numerical integration of the density.
  EXPECT_NEAR(2 * (1 - student_t_cdf(2.228, 10)), 0.0500118, 1e-6);
  EXPECT_NEAR(2 * (1 - student_t_cdf(4.032, 5)), 0.0100014, 1e-6);
  EXPECT_NEAR(2 * (1 - student_t_cdf(2.042, 30)), 0.0500287, 1e-6);
  EXPECT_NEAR(student_t_cdf(1.5, 7.5), 0.9127597, 1e-6);   // non-integer df, as Welch produces
  EXPECT_NEAR(student_t_cdf(1.96, 1e7), 0.9750021, 1e-6);  // the normal limit
}

TEST(IncompleteBeta, KnownValues) {
  EXPECT_NEAR(incomplete_beta(1, 1, 0.3), 0.3, 1e-14);      // uniform
  EXPECT_NEAR(incomplete_beta(2, 3, 0.4), 0.5248, 1e-12);   // 1 - sum binomial
  EXPECT_NEAR(incomplete_beta(0.5, 0.5, 0.5), 0.5, 1e-12);  // symmetric
  EXPECT_EQ(incomplete_beta(2, 2, 0), 0.0);
  EXPECT_EQ(incomplete_beta(2, 2, 1), 1.0);
}

TEST(Welch, MatchesHandComputation) {
  WelchResult r = welch_t_test({1, 2, 3}, {4, 5, 6});
  EXPECT_NEAR(r.t, -3.6742346, 1e-6);
  EXPECT_NEAR(r.df, 4.0, 1e-12);
  EXPECT_NEAR(r.p, 0.0213116, 1e-6);
  WelchResult u = welch_t_test({0.61, 0.63, 0.60, 0.64}, {0.55, 0.58, 0.54});
  EXPECT_NEAR(u.t, 4.1963980, 1e-6);
  EXPECT_NEAR(u.df, 4.0702179, 1e-6);
  EXPECT_NEAR(u.p, 0.0132416, 1e-6);
  EXPECT_EQ(welch_t_test({1, 1}, {1, 1}).p, 1.0);
  EXPECT_EQ(welch_t_test({1, 1}, {2, 2}).p, 0.0);
  EXPECT_THROW(welch_t_test({1}, {1, 2}), Error);
}
