#pragma once
// The numbers the paper reports: pass@k over sampled completions, and mean +/- std over seeds
// compared with a two-sided Welch t-test.
#include <cstddef>
#include <vector>

namespace s0 {

// Unbiased pass@k (Chen et al. 2021) for one problem with n samples of which c passed:
// 1 - C(n-c, k) / C(n, k), computed as a product so that large n never overflows.
double pass_at_k(size_t n, size_t c, size_t k);

struct MeanStd {
  double mean = 0;
  double std = 0;  // sample standard deviation (n - 1); 0 for a single value
  size_t n = 0;
};
MeanStd mean_std(const std::vector<double>& values);

// Regularized incomplete beta I_x(a, b), the building block of the Student t distribution.
double incomplete_beta(double a, double b, double x);
// CDF of Student's t distribution with `df` (real, > 0) degrees of freedom.
double student_t_cdf(double t, double df);

struct WelchResult {
  double t = 0;
  double df = 0;
  double p = 1;  // two-sided
};
// Two-sided Welch t-test of mean(a) != mean(b); each group needs at least two values.
WelchResult welch_t_test(const std::vector<double>& a, const std::vector<double>& b);

}  // namespace s0
