#pragma once
// Float64 statements of the CPU ops' forwards, as plain loops over the formulas of
// shared/reference/ref_port.py, and the helpers the op tests share: random inputs and a
// closeness check. The forward tests compare the float32 ops with these; the backward tests
// differentiate these by central differences.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <random>
#include <vector>

#include "ops/cpu/norm.h"

namespace s0::naive {

using Vec = std::vector<double>;

inline double silu(double x) { return x / (1.0 + std::exp(-x)); }

inline std::vector<float> randn(size_t n, uint32_t seed, float sd = 1.0f, float mean = 0.0f) {
  std::mt19937 gen(seed);
  std::normal_distribution<float> dist(mean, sd);
  std::vector<float> v(n);
  for (float& x : v) x = dist(gen);
  return v;
}

inline Vec to_double(const std::vector<float>& v) { return Vec(v.begin(), v.end()); }

// Each element within atol + rtol * |want|, atol = atol_frac * max(largest |want|, 1): relative to
// the output's scale, and never below an O(1) scale, since the test inputs are O(1) and an exactly
// zero result (a gradient through a one-token softmax) still carries rounding.
inline void expect_close(const std::vector<float>& got, const Vec& want, double rtol, double atol_frac,
                         const char* what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  double scale = 0;
  for (double w : want) scale = std::max(scale, std::abs(w));
  const double atol = atol_frac * std::max(scale, 1.0);
  int bad = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    const double err = std::abs(static_cast<double>(got[i]) - want[i]);
    if (!(err <= atol + rtol * std::abs(want[i])) && ++bad <= 5)
      ADD_FAILURE() << what << "[" << i << "]: got " << got[i] << ", want " << want[i] << " (scale " << scale << ")";
  }
  EXPECT_EQ(bad, 0) << what << ": " << bad << " of " << got.size() << " elements off";
}

// Sum of squares over one row of `len` (double all the way).
inline double sumsq(const double* x, int64_t len) {
  double s = 0;
  for (int64_t j = 0; j < len; ++j) s += x[j] * x[j];
  return s;
}

inline Vec rmsnorm(const Vec& x, const Vec& w, int64_t n, int64_t d, double eps) {
  Vec y(x.size());
  for (int64_t i = 0; i < n; ++i) {
    const double r = 1.0 / std::sqrt(sumsq(&x[i * d], d) / d + eps);
    for (int64_t j = 0; j < d; ++j) y[i * d + j] = x[i * d + j] * r * w[j];
  }
  return y;
}

// w empty for GateOnly.
inline Vec gated_rmsnorm(const Vec& y, const Vec& z, const Vec& w, int64_t n, int64_t d, int64_t group, double eps,
                         ops::GateOrder order) {
  Vec out(y.size());
  for (int64_t i = 0; i < n * d; ++i) out[i] = order == ops::GateOrder::NormThenGate ? y[i] : y[i] * silu(z[i]);
  if (order == ops::GateOrder::GateOnly) return out;
  for (int64_t s = 0; s < n * d; s += group) {
    const double r = 1.0 / std::sqrt(sumsq(&out[s], group) / group + eps);
    for (int64_t j = 0; j < group; ++j) out[s + j] *= r * w[(s + j) % d];
  }
  if (order == ops::GateOrder::NormThenGate)
    for (int64_t i = 0; i < n * d; ++i) out[i] *= silu(z[i]);
  return out;
}

inline Vec l2norm(const Vec& x, int64_t n, int64_t d, double eps) {
  Vec y(x.size());
  for (int64_t i = 0; i < n; ++i) {
    const double r = 1.0 / std::sqrt(sumsq(&x[i * d], d) + eps);
    for (int64_t j = 0; j < d; ++j) y[i * d + j] = x[i * d + j] * r;
  }
  return y;
}

// Causal softmax attention, query head h reading key/value head h / (H / Hkv).
inline Vec attention(const Vec& q, const Vec& k, const Vec& v, int64_t T, int64_t H, int64_t Hkv, int64_t D,
                     double scale) {
  Vec out(static_cast<size_t>(T * H * D), 0.0);
  for (int64_t h = 0; h < H; ++h) {
    const int64_t kh = h / (H / Hkv);
    for (int64_t i = 0; i < T; ++i) {
      Vec s(static_cast<size_t>(i + 1));
      for (int64_t j = 0; j <= i; ++j) {
        double dot = 0;
        for (int64_t e = 0; e < D; ++e) dot += q[(i * H + h) * D + e] * k[(j * Hkv + kh) * D + e];
        s[j] = scale * dot;
      }
      const double mx = *std::max_element(s.begin(), s.end());
      double sum = 0;
      for (double& x : s) sum += (x = std::exp(x - mx));
      for (int64_t j = 0; j <= i; ++j)
        for (int64_t e = 0; e < D; ++e) out[(i * H + h) * D + e] += s[j] / sum * v[(j * Hkv + kh) * D + e];
    }
  }
  return out;
}

// Depthwise causal conv + SiLU: y[t, c] = silu(b[c] + sum_j w[c, j] xp[t + j, c]) where xp is x
// after K-1 rows of history (zeros when `history` is empty). bias empty = none.
inline Vec conv1d_silu(const Vec& x, const Vec& w, const Vec& bias, const Vec& history, int64_t T, int64_t C,
                       int64_t K) {
  Vec xp(static_cast<size_t>((T + K - 1) * C), 0.0);
  if (!history.empty()) std::copy(history.begin(), history.end(), xp.begin());
  std::copy(x.begin(), x.end(), xp.begin() + (K - 1) * C);
  Vec y(static_cast<size_t>(T * C));
  for (int64_t t = 0; t < T; ++t)
    for (int64_t c = 0; c < C; ++c) {
      double acc = bias.empty() ? 0.0 : bias[c];
      for (int64_t j = 0; j < K; ++j) acc += w[c * K + j] * xp[(t + j) * C + c];
      y[t * C + c] = silu(acc);
    }
  return y;
}

// NeoX rotary embedding: x_rot * cos + rotate_half(x_rot) * sin on the first rot_dim channels.
inline Vec rope(const Vec& x, const std::vector<int64_t>& pos, int64_t T, int64_t H, int64_t D, int64_t rot_dim,
                double theta) {
  Vec y = x;
  const int64_t half = rot_dim / 2;
  for (int64_t t = 0; t < T; ++t)
    for (int64_t h = 0; h < H; ++h)
      for (int64_t c = 0; c < rot_dim; ++c) {
        const int64_t i = c % half;
        const double a = static_cast<double>(pos[t]) / std::pow(theta, 2.0 * i / rot_dim);
        const double* xh = &x[(t * H + h) * D];
        const double rotated = c < half ? -xh[c + half] : xh[c - half];
        y[(t * H + h) * D + c] = xh[c] * std::cos(a) + rotated * std::sin(a);
      }
  return y;
}

// Per-row losses -log softmax(logits[p])[targets[p]].
inline Vec cross_entropy(const Vec& logits, const std::vector<int32_t>& targets, int64_t P, int64_t V) {
  Vec loss(static_cast<size_t>(P));
  for (int64_t p = 0; p < P; ++p) {
    double sum = 0;
    for (int64_t j = 0; j < V; ++j) sum += std::exp(logits[p * V + j]);
    loss[p] = std::log(sum) - logits[p * V + targets[p]];
  }
  return loss;
}

}  // namespace s0::naive
