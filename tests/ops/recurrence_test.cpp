// The two recurrences (gated delta rule, Mamba-2 SSD): the chunked forward and backward against the
// token-by-token oracles, and the oracles' backward against central finite differences of a
// float64 re-implementation of the forward written here.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <random>
#include <tuple>
#include <vector>

#include "ops/cpu/gated_delta.h"
#include "ops/cpu/small_matmul.h"
#include "ops/cpu/ssd.h"

namespace s0::ops::cpu {
namespace {

using Vec = std::vector<float>;

Vec uniform(size_t n, float lo, float hi, std::mt19937& rng) {
  std::uniform_real_distribution<float> dist(lo, hi);
  Vec out(n);
  for (auto& x : out) x = dist(rng);
  return out;
}

// Rows of length `width` scaled to unit norm times `scale`, as the mixer feeds q and k.
Vec unit_rows(size_t rows, size_t width, float scale, std::mt19937& rng) {
  Vec out = uniform(rows * width, -1.0f, 1.0f, rng);
  for (size_t r = 0; r < rows; ++r) {
    double norm = 0.0;
    for (size_t e = 0; e < width; ++e) norm += double(out[r * width + e]) * out[r * width + e];
    for (size_t e = 0; e < width; ++e) out[r * width + e] *= scale / static_cast<float>(std::sqrt(norm));
  }
  return out;
}

// max|got - want| / max|want|: the scale-free error every comparison here is held to.
template <typename Want>
double relative_error(const Vec& got, const std::vector<Want>& want) {
  double diff = 0.0, scale = 0.0;
  if (got.size() != want.size()) return INFINITY;
  for (size_t i = 0; i < want.size(); ++i) {
    if (!std::isfinite(got[i])) return INFINITY;  // an output left unwritten (NaN) or overflowed
    diff = std::max(diff, std::abs(double(got[i]) - double(want[i])));
    scale = std::max(scale, std::abs(double(want[i])));
  }
  return scale > 0.0 ? diff / scale : diff;
}

// Central differences of `loss` with respect to every element of `x` (step h), in float64.
std::vector<double> finite_differences(std::vector<double>& x, const std::function<double()>& loss, double h) {
  std::vector<double> grad(x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    const double saved = x[i];
    x[i] = saved + h;
    const double up = loss();
    x[i] = saved - h;
    const double down = loss();
    x[i] = saved;
    grad[i] = (up - down) / (2.0 * h);
  }
  return grad;
}

std::vector<double> to_double(const Vec& v) { return {v.begin(), v.end()}; }

// ---------------------------------------------------------------- the chunk products

// The three small products against a float64 loop, on ragged shapes (edges of the 6x16 and 2x4
// blocks) with leading dimensions wider than the rows, square triangular factors included.
TEST(SmallMatmul, MatchesNaiveProducts) {
  std::mt19937 rng(3);
  for (const int64_t M : {1, 5, 7, 16, 37}) {
    for (const int64_t N : {1, 9, 16, 33}) {
      for (const int64_t K : {1, 8, 13, 37}) {
        const int64_t ld = 40;  // every operand is stored with 40 floats a row
        const Vec a = uniform(40 * ld, -1, 1, rng), b = uniform(40 * ld, -1, 1, rng);
        // want(i, j) = sum_k A(i,k) B(k,j) with A(i,k) = a[ai(i,k)], B(k,j) = b[bi(k,j)]
        auto naive = [&](auto ai, auto bi, auto keep_k) {
          std::vector<double> want(M * N);
          for (int64_t i = 0; i < M; ++i)
            for (int64_t j = 0; j < N; ++j)
              for (int64_t k = 0; k < K; ++k)
                if (keep_k(i, k)) want[i * N + j] += double(a[ai(i, k)]) * b[bi(k, j)];
          return want;
        };
        auto all = [](int64_t, int64_t) { return true; };
        auto run = [&](auto product) {
          Vec c(M * ld, 0.0f), got(M * N);
          product(c.data());
          for (int64_t i = 0; i < M; ++i)
            for (int64_t j = 0; j < N; ++j) got[i * N + j] = c[i * ld + j] / 0.5f;  // alpha = 0.5
          return got;
        };
        auto row_major = [&](int64_t r, int64_t c) { return r * ld + c; };
        auto transposed = [&](int64_t r, int64_t c) { return c * ld + r; };
        EXPECT_LE(relative_error(run([&](float* c) { small::gemm_nn(M, N, K, 0.5f, a.data(), ld, b.data(), ld, c, ld); }),
                                 naive(row_major, row_major, all)), 1e-6);
        EXPECT_LE(relative_error(run([&](float* c) { small::gemm_tn(M, N, K, 0.5f, a.data(), ld, b.data(), ld, c, ld); }),
                                 naive(transposed, row_major, all)), 1e-6);
        EXPECT_LE(relative_error(run([&](float* c) { small::gemm_nt(M, N, K, 0.5f, a.data(), ld, b.data(), ld, c, ld); }),
                                 naive(row_major, transposed, all)), 1e-6);
        if (M != K) continue;
        // Square A, lower triangular (zeros above): the banded products skip most of its upper half.
        Vec lower = a;
        for (int64_t i = 0; i < M; ++i)
          for (int64_t k = i + 1; k < K; ++k) lower[i * ld + k] = 0.0f;
        auto on_or_below = [](int64_t i, int64_t k) { return k <= i; };
        auto on_or_above = [](int64_t i, int64_t k) { return k >= i; };
        EXPECT_LE(relative_error(run([&](float* c) {
                                   small::gemm_nn(M, N, K, 0.5f, lower.data(), ld, b.data(), ld, c, ld, true);
                                 }),
                                 naive(row_major, row_major, on_or_below)), 1e-6);
        EXPECT_LE(relative_error(run([&](float* c) {
                                   small::gemm_tn(M, N, K, 0.5f, lower.data(), ld, b.data(), ld, c, ld, true);
                                 }),
                                 naive(transposed, row_major, on_or_above)), 1e-6);
      }
    }
  }
}

// gemm_nt with c_lower computes every C(i, j <= i).
TEST(SmallMatmul, LowerOutputOfABt) {
  std::mt19937 rng(5);
  const int64_t n = 37, K = 21;
  const Vec a = uniform(n * K, -1, 1, rng), b = uniform(n * K, -1, 1, rng);
  Vec full(n * n, 0.0f), lower(n * n, 0.0f);
  small::gemm_nt(n, n, K, 1.0f, a.data(), K, b.data(), K, full.data(), n);
  small::gemm_nt(n, n, K, 1.0f, a.data(), K, b.data(), K, lower.data(), n, true);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j <= i; ++j) EXPECT_NEAR(lower[i * n + j], full[i * n + j], 1e-5) << i << "," << j;
}

// ---------------------------------------------------------------- gated delta rule

struct GdnCase {
  int64_t T, H, dk, dv, chunk;
  bool with_s0, with_s_final;
  float g_lo, g_hi;  // range of the log decay
};

void PrintTo(const GdnCase& c, std::ostream* os) {
  *os << "T=" << c.T << " H=" << c.H << " dk=" << c.dk << " dv=" << c.dv << " chunk=" << c.chunk
      << (c.with_s0 ? " s0" : "") << (c.with_s_final ? " s_final" : "") << " g in [" << c.g_lo << ", " << c.g_hi
      << "]";
}

struct GdnInputs {
  GatedDeltaDims d;
  Vec q, k, v, g, beta, s0;
  const float* s0_or_null() const { return s0.empty() ? nullptr : s0.data(); }
};

GdnInputs gdn_inputs(const GdnCase& c, uint32_t seed) {
  std::mt19937 rng(seed);
  GdnInputs in{{c.T, c.H, c.dk, c.dv}, {}, {}, {}, {}, {}, {}};
  const size_t rows = c.T * c.H;
  in.q = unit_rows(rows, c.dk, 1.0f / std::sqrt(float(c.dk)), rng);
  in.k = unit_rows(rows, c.dk, 1.0f, rng);
  in.v = uniform(rows * c.dv, -1.0f, 1.0f, rng);
  in.g = uniform(rows, c.g_lo, c.g_hi, rng);
  in.beta = uniform(rows, 0.05f, 0.95f, rng);
  if (c.with_s0) in.s0 = uniform(c.H * c.dk * c.dv, -1.0f, 1.0f, rng);
  return in;
}

class GatedDeltaChunked : public ::testing::TestWithParam<GdnCase> {};

TEST_P(GatedDeltaChunked, ForwardMatchesTokenByToken) {
  const GdnCase c = GetParam();
  const GdnInputs in = gdn_inputs(c, 7);
  const size_t out_n = c.T * c.H * c.dv, state_n = c.H * c.dk * c.dv;
  Vec o_ref(out_n), o(out_n, NAN), s_ref(state_n), s(state_n, NAN);
  gated_delta_reference(in.d, in.q.data(), in.k.data(), in.v.data(), in.g.data(), in.beta.data(), in.s0_or_null(),
                        o_ref.data(), s_ref.data());
  gated_delta_chunked(in.d, in.q.data(), in.k.data(), in.v.data(), in.g.data(), in.beta.data(), in.s0_or_null(),
                      o.data(), c.with_s_final ? s.data() : nullptr, c.chunk);
  EXPECT_LE(relative_error(o, o_ref), 1e-5);
  if (c.with_s_final) {
    EXPECT_LE(relative_error(s, s_ref), 1e-5);
  }
}

TEST_P(GatedDeltaChunked, BackwardMatchesTokenByToken) {
  const GdnCase c = GetParam();
  const GdnInputs in = gdn_inputs(c, 11);
  std::mt19937 rng(13);
  const size_t rows = c.T * c.H, state_n = c.H * c.dk * c.dv;
  const Vec d_o = uniform(rows * c.dv, -1.0f, 1.0f, rng);
  const Vec d_s_final = c.with_s_final ? uniform(state_n, -1.0f, 1.0f, rng) : Vec();
  const float* d_s_final_or_null = d_s_final.empty() ? nullptr : d_s_final.data();
  struct Grads {
    Vec dq, dk, dv, dg, dbeta, ds0;
    auto all() const { return std::tie(dq, dk, dv, dg, dbeta, ds0); }
  };
  auto make = [&] {
    return Grads{Vec(rows * c.dk, NAN), Vec(rows * c.dk, NAN), Vec(rows * c.dv, NAN),
                 Vec(rows, NAN),        Vec(rows, NAN),        Vec(state_n, NAN)};
  };
  Grads ref = make(), got = make();
  gated_delta_reference_backward(in.d, in.q.data(), in.k.data(), in.v.data(), in.g.data(), in.beta.data(),
                                 in.s0_or_null(), d_o.data(), d_s_final_or_null, ref.dq.data(), ref.dk.data(),
                                 ref.dv.data(), ref.dg.data(), ref.dbeta.data(), ref.ds0.data());
  gated_delta_chunked_backward(in.d, in.q.data(), in.k.data(), in.v.data(), in.g.data(), in.beta.data(),
                               in.s0_or_null(), d_o.data(), d_s_final_or_null, got.dq.data(), got.dk.data(),
                               got.dv.data(), got.dg.data(), got.dbeta.data(), got.ds0.data(), c.chunk);
  EXPECT_LE(relative_error(got.dq, ref.dq), 1e-4);
  EXPECT_LE(relative_error(got.dk, ref.dk), 1e-4);
  EXPECT_LE(relative_error(got.dv, ref.dv), 1e-4);
  EXPECT_LE(relative_error(got.dg, ref.dg), 1e-4);
  EXPECT_LE(relative_error(got.dbeta, ref.dbeta), 1e-4);
  EXPECT_LE(relative_error(got.ds0, ref.ds0), 1e-4);

  // Starting from the chunk states the forward kept instead of recomputing them: the same bits.
  Vec o(rows * c.dv), starts(static_cast<size_t>(gated_delta_chunk_starts_floats(in.d, c.chunk)), NAN);
  gated_delta_chunked(in.d, in.q.data(), in.k.data(), in.v.data(), in.g.data(), in.beta.data(), in.s0_or_null(),
                      o.data(), nullptr, c.chunk, starts.data());
  Grads kept = make();
  gated_delta_chunked_backward(in.d, in.q.data(), in.k.data(), in.v.data(), in.g.data(), in.beta.data(),
                               in.s0_or_null(), d_o.data(), d_s_final_or_null, kept.dq.data(), kept.dk.data(),
                               kept.dv.data(), kept.dg.data(), kept.dbeta.data(), kept.ds0.data(), c.chunk,
                               starts.data());
  EXPECT_TRUE(kept.all() == got.all()) << "the gradients from the kept chunk states differ";
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, GatedDeltaChunked,
    ::testing::Values(GdnCase{0, 2, 8, 12, 16, true, true, -2.0f, -0.01f},         // no tokens
                      GdnCase{1, 2, 8, 12, 16, true, true, -2.0f, -0.01f},         // one token
                      GdnCase{5, 2, 8, 12, 16, false, true, -2.0f, -0.01f},        // shorter than a chunk
                      GdnCase{37, 3, 16, 8, 16, true, true, -1.0f, -0.01f},        // ragged last chunk
                      GdnCase{37, 3, 16, 8, 16, true, false, -1.0f, -0.01f},       // no final state
                      GdnCase{300, 2, 32, 32, 64, true, true, -0.5f, -0.001f},     // long, slow decay
                      GdnCase{130, 2, 16, 16, 64, true, true, -60.0f, -40.0f},     // very negative g
                      GdnCase{130, 2, 16, 16, 64, true, true, -60.0f, -0.001f},   // mixed decays
                      GdnCase{20, 2, 8, 12, 1, false, false, -1.0f, -0.01f},      // chunks of one token
                      GdnCase{100, 2, 16, 24, 37, false, false, -1.0f, -0.01f}));  // odd chunk size

// Strong decay: every path from s0 to a loss term carries products of exp(g), so ds0 (and the part
// of s_final that s0 feeds) is tiny; the chunked form must get it right relative to its own size,
// not only to within O(1e-7) of the O(1) gradients. (Adam divides by sqrt(v) + eps, so an absolute
// error of 1e-9 in a gradient of 1e-16 moves the state by orders of magnitude too much.)
struct GdnDecayCase {
  int64_t chunk;
  bool with_s0;
  float g_lo, g_hi;    // the log decays of most tokens
  float strong_share;  // the share of tokens whose g is drawn from [-40, -15] instead
};

void PrintTo(const GdnDecayCase& c, std::ostream* os) {
  *os << "chunk=" << c.chunk << (c.with_s0 ? " s0" : "") << " g in [" << c.g_lo << ", " << c.g_hi
      << "] strong share " << c.strong_share;
}

class GatedDeltaStrongDecay : public ::testing::TestWithParam<GdnDecayCase> {};

TEST_P(GatedDeltaStrongDecay, StateGradientAccurateOnItsOwnScale) {
  const GdnDecayCase c = GetParam();
  const GdnCase shape{100, 3, 20, 10, c.chunk, c.with_s0, false, c.g_lo, c.g_hi};
  GdnInputs in = gdn_inputs(shape, 41);
  std::mt19937 rng(43);
  std::uniform_real_distribution<float> unit(0.0f, 1.0f), strong(-40.0f, -15.0f);
  for (auto& g : in.g)
    if (unit(rng) < c.strong_share) g = strong(rng);
  // The first token decays strongly in every case, so that ds0 is tiny throughout.
  for (int64_t h = 0; h < shape.H; ++h) in.g[h] = strong(rng);
  const size_t rows = shape.T * shape.H, state_n = shape.H * shape.dk * shape.dv;
  const Vec d_o = uniform(rows * shape.dv, -1.0f, 1.0f, rng);
  auto grads = [&](bool chunked) {
    Vec dq(rows * shape.dk, NAN), dk(rows * shape.dk, NAN), dv(rows * shape.dv, NAN), dg(rows, NAN),
        dbeta(rows, NAN), ds0(state_n, NAN);
    if (chunked) {
      gated_delta_chunked_backward(in.d, in.q.data(), in.k.data(), in.v.data(), in.g.data(), in.beta.data(),
                                   in.s0_or_null(), d_o.data(), nullptr, dq.data(), dk.data(), dv.data(), dg.data(),
                                   dbeta.data(), ds0.data(), shape.chunk);
    } else {
      gated_delta_reference_backward(in.d, in.q.data(), in.k.data(), in.v.data(), in.g.data(), in.beta.data(),
                                     in.s0_or_null(), d_o.data(), nullptr, dq.data(), dk.data(), dv.data(),
                                     dg.data(), dbeta.data(), ds0.data());
    }
    return std::make_pair(ds0, dg);
  };
  const auto [ref, ref_dg] = grads(false);
  const auto [got, got_dg] = grads(true);
  double scale = 0.0;
  for (float x : ref) scale = std::max(scale, double(std::abs(x)));
  EXPECT_GT(scale, 0.0);
  EXPECT_LT(scale, 1e-5);  // the case is as intended: ds0 is tiny
  EXPECT_LE(relative_error(got, ref), 1e-4) << "max |ds0| " << scale;

  // Likewise dg of each token: dg_t is exp(g_t) <dLoss/dS'_t, S_(t-1)> (S' the decayed state), so
  // it carries that token's decay as a factor, and its error is held to exp(g_t) times the largest
  // of those inner products, |dg_t'| exp(-g_t'). A strongly decaying token's dg is tiny, and an
  // absolute error of 1e-9 on it reaches the layers below (through the gradient of the input
  // projection) and their dS0.
  double inner_scale = 0.0;
  for (size_t r = 0; r < ref_dg.size(); ++r)
    inner_scale = std::max(inner_scale, std::abs(double(ref_dg[r])) * std::exp(-double(in.g[r])));
  double worst = 0.0;
  int64_t worst_at = -1;
  for (size_t r = 0; r < ref_dg.size(); ++r) {
    const double err = std::abs(double(got_dg[r]) - ref_dg[r]) / (std::exp(double(in.g[r])) * inner_scale);
    if (!(err <= worst)) worst = err, worst_at = static_cast<int64_t>(r);
  }
  EXPECT_LE(worst, 1e-4) << "token " << worst_at / shape.H << " head " << worst_at % shape.H << " g "
                         << in.g[worst_at] << " dg " << got_dg[worst_at] << " want " << ref_dg[worst_at];

  // The forward's final state: with s0 present, the part of it that s0 feeds is tiny; the state as a
  // whole must still match on its own scale, and so must the final state fed by s0 alone (v = 0).
  if (c.with_s0) {
    GdnInputs only_s0 = in;
    std::fill(only_s0.v.begin(), only_s0.v.end(), 0.0f);
    for (const GdnInputs* x : {&in, &only_s0}) {
      Vec o_ref(rows * shape.dv), o(rows * shape.dv, NAN), s_ref(state_n), s(state_n, NAN);
      gated_delta_reference(x->d, x->q.data(), x->k.data(), x->v.data(), x->g.data(), x->beta.data(),
                            x->s0_or_null(), o_ref.data(), s_ref.data());
      gated_delta_chunked(x->d, x->q.data(), x->k.data(), x->v.data(), x->g.data(), x->beta.data(),
                          x->s0_or_null(), o.data(), s.data(), shape.chunk);
      EXPECT_LE(relative_error(o, o_ref), 1e-4);
      EXPECT_LE(relative_error(s, s_ref), 1e-4);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    Decays, GatedDeltaStrongDecay,
    ::testing::Values(GdnDecayCase{64, false, -40.0f, -15.0f, 0.0f},  // every token decays strongly
                      GdnDecayCase{64, true, -40.0f, -15.0f, 0.0f},
                      GdnDecayCase{64, false, -1.0f, -0.01f, 0.1f},   // a few tokens decay strongly
                      GdnDecayCase{64, true, -1.0f, -0.01f, 0.1f},
                      GdnDecayCase{64, false, -1.0f, -0.01f, 0.03f},
                      GdnDecayCase{16, true, -3.0f, -0.01f, 0.05f},
                      GdnDecayCase{37, false, -40.0f, -0.01f, 0.0f}));  // mixed, odd chunk size

// float64 forward, token by token, for the finite differences; loss = <o, r_o> + <s_final, r_s>.
double gdn_loss(const GatedDeltaDims& d, const std::vector<double>& q, const std::vector<double>& k,
                const std::vector<double>& v, const std::vector<double>& g, const std::vector<double>& beta,
                const std::vector<double>& s0, const Vec& r_o, const Vec& r_s) {
  double loss = 0.0;
  for (int64_t h = 0; h < d.H; ++h) {
    std::vector<double> S(s0.begin() + h * d.dk * d.dv, s0.begin() + (h + 1) * d.dk * d.dv);
    for (int64_t t = 0; t < d.T; ++t) {
      const int64_t r = t * d.H + h;
      for (auto& x : S) x *= std::exp(g[r]);
      for (int64_t j = 0; j < d.dv; ++j) {
        double kv = 0.0;
        for (int64_t i = 0; i < d.dk; ++i) kv += S[i * d.dv + j] * k[r * d.dk + i];
        const double delta = beta[r] * (v[r * d.dv + j] - kv);
        for (int64_t i = 0; i < d.dk; ++i) S[i * d.dv + j] += k[r * d.dk + i] * delta;
      }
      for (int64_t j = 0; j < d.dv; ++j) {
        double o = 0.0;
        for (int64_t i = 0; i < d.dk; ++i) o += S[i * d.dv + j] * q[r * d.dk + i];
        loss += o * r_o[r * d.dv + j];
      }
    }
    for (int64_t e = 0; e < d.dk * d.dv; ++e) loss += S[e] * r_s[h * d.dk * d.dv + e];
  }
  return loss;
}

TEST(GatedDeltaReferenceBackward, MatchesFiniteDifferences) {
  const GdnCase c{7, 2, 3, 4, 0, true, true, -1.0f, -0.05f};
  const GdnInputs in = gdn_inputs(c, 5);
  std::mt19937 rng(17);
  const size_t rows = c.T * c.H, state_n = c.H * c.dk * c.dv;
  const Vec r_o = uniform(rows * c.dv, -1.0f, 1.0f, rng), r_s = uniform(state_n, -1.0f, 1.0f, rng);
  Vec dq(rows * c.dk), dk(rows * c.dk), dv(rows * c.dv), dg(rows), dbeta(rows), ds0(state_n);
  gated_delta_reference_backward(in.d, in.q.data(), in.k.data(), in.v.data(), in.g.data(), in.beta.data(),
                                 in.s0.data(), r_o.data(), r_s.data(), dq.data(), dk.data(), dv.data(), dg.data(),
                                 dbeta.data(), ds0.data());
  auto q = to_double(in.q), k = to_double(in.k), v = to_double(in.v), g = to_double(in.g),
       beta = to_double(in.beta), s0 = to_double(in.s0);
  auto loss = [&] { return gdn_loss(in.d, q, k, v, g, beta, s0, r_o, r_s); };
  // float gradients against float64 differences: the error left is float rounding (~1e-7 here).
  const double h = 1e-5, tol = 1e-5;
  EXPECT_LE(relative_error(dq, finite_differences(q, loss, h)), tol);
  EXPECT_LE(relative_error(dk, finite_differences(k, loss, h)), tol);
  EXPECT_LE(relative_error(dv, finite_differences(v, loss, h)), tol);
  EXPECT_LE(relative_error(dg, finite_differences(g, loss, h)), tol);
  EXPECT_LE(relative_error(dbeta, finite_differences(beta, loss, h)), tol);
  EXPECT_LE(relative_error(ds0, finite_differences(s0, loss, h)), tol);
}

// ---------------------------------------------------------------- Mamba-2 SSD

struct SsdCase {
  int64_t T, H, P, G, N, chunk;
  bool with_s0, with_s_final;
  float dt_lo, dt_hi;  // dt range; A is drawn from [-2, -0.5] or, with strong_decay, [-8, -5]
  bool strong_decay;
};

void PrintTo(const SsdCase& c, std::ostream* os) {
  *os << "T=" << c.T << " H=" << c.H << " P=" << c.P << " G=" << c.G << " N=" << c.N << " chunk=" << c.chunk
      << (c.with_s0 ? " s0" : "") << (c.with_s_final ? " s_final" : "") << " dt in [" << c.dt_lo << ", "
      << c.dt_hi << "]" << (c.strong_decay ? " strong decay" : "");
}

struct SsdInputs {
  SsdDims d;
  Vec x, dt, A, B, C, D, s0;
  const float* s0_or_null() const { return s0.empty() ? nullptr : s0.data(); }
};

SsdInputs ssd_inputs(const SsdCase& c, uint32_t seed) {
  std::mt19937 rng(seed);
  SsdInputs in{{c.T, c.H, c.P, c.G, c.N}, {}, {}, {}, {}, {}, {}, {}};
  in.x = uniform(c.T * c.H * c.P, -1.0f, 1.0f, rng);
  in.dt = uniform(c.T * c.H, c.dt_lo, c.dt_hi, rng);
  in.A = c.strong_decay ? uniform(c.H, -8.0f, -5.0f, rng) : uniform(c.H, -2.0f, -0.5f, rng);
  in.B = uniform(c.T * c.G * c.N, -1.0f, 1.0f, rng);
  in.C = uniform(c.T * c.G * c.N, -1.0f, 1.0f, rng);
  in.D = uniform(c.H, -1.0f, 1.0f, rng);
  if (c.with_s0) in.s0 = uniform(c.H * c.P * c.N, -1.0f, 1.0f, rng);
  return in;
}

class SsdChunked : public ::testing::TestWithParam<SsdCase> {};

TEST_P(SsdChunked, ForwardMatchesTokenByToken) {
  const SsdCase c = GetParam();
  const SsdInputs in = ssd_inputs(c, 19);
  const size_t out_n = c.T * c.H * c.P, state_n = c.H * c.P * c.N;
  Vec y_ref(out_n), y(out_n, NAN), s_ref(state_n), s(state_n, NAN);
  ssd_reference(in.d, in.x.data(), in.dt.data(), in.A.data(), in.B.data(), in.C.data(), in.D.data(), in.s0_or_null(),
                y_ref.data(), s_ref.data());
  ssd_chunked(in.d, in.x.data(), in.dt.data(), in.A.data(), in.B.data(), in.C.data(), in.D.data(), in.s0_or_null(),
              y.data(), c.with_s_final ? s.data() : nullptr, c.chunk);
  EXPECT_LE(relative_error(y, y_ref), 1e-5);
  if (c.with_s_final) {
    EXPECT_LE(relative_error(s, s_ref), 1e-5);
  }
}

struct SsdGrads {
  Vec dx, ddt, dB, dC, dD, ds0;
  explicit SsdGrads(const SsdDims& d)
      : dx(d.T * d.H * d.P, NAN), ddt(d.T * d.H, NAN), dB(d.T * d.G * d.N, NAN), dC(d.T * d.G * d.N, NAN),
        dD(d.H, NAN), ds0(d.H * d.P * d.N, NAN) {}
  auto all() const { return std::tie(dx, ddt, dB, dC, dD, ds0); }
};

TEST_P(SsdChunked, BackwardMatchesTokenByToken) {
  const SsdCase c = GetParam();
  const SsdInputs in = ssd_inputs(c, 23);
  std::mt19937 rng(29);
  const Vec d_y = uniform(c.T * c.H * c.P, -1.0f, 1.0f, rng);
  const Vec d_s_final = c.with_s_final ? uniform(c.H * c.P * c.N, -1.0f, 1.0f, rng) : Vec();
  const float* d_s_final_or_null = d_s_final.empty() ? nullptr : d_s_final.data();
  SsdGrads ref(in.d), got(in.d);
  ssd_reference_backward(in.d, in.x.data(), in.dt.data(), in.A.data(), in.B.data(), in.C.data(), in.D.data(),
                         in.s0_or_null(), d_y.data(), d_s_final_or_null, ref.dx.data(), ref.ddt.data(), ref.dB.data(),
                         ref.dC.data(), ref.dD.data(), ref.ds0.data());
  ssd_chunked_backward(in.d, in.x.data(), in.dt.data(), in.A.data(), in.B.data(), in.C.data(), in.D.data(),
                       in.s0_or_null(), d_y.data(), d_s_final_or_null, got.dx.data(), got.ddt.data(), got.dB.data(),
                       got.dC.data(), got.dD.data(), got.ds0.data(), c.chunk);
  EXPECT_LE(relative_error(got.dx, ref.dx), 1e-4);
  EXPECT_LE(relative_error(got.ddt, ref.ddt), 1e-4);
  EXPECT_LE(relative_error(got.dB, ref.dB), 1e-4);
  EXPECT_LE(relative_error(got.dC, ref.dC), 1e-4);
  EXPECT_LE(relative_error(got.dD, ref.dD), 1e-4);
  EXPECT_LE(relative_error(got.ds0, ref.ds0), 1e-4);

  // Starting from the chunk states the forward kept instead of recomputing them: the same bits.
  Vec y(c.T * c.H * c.P), starts(static_cast<size_t>(ssd_chunk_starts_floats(in.d, c.chunk)), NAN);
  ssd_chunked(in.d, in.x.data(), in.dt.data(), in.A.data(), in.B.data(), in.C.data(), in.D.data(), in.s0_or_null(),
              y.data(), nullptr, c.chunk, starts.data());
  SsdGrads kept(in.d);
  ssd_chunked_backward(in.d, in.x.data(), in.dt.data(), in.A.data(), in.B.data(), in.C.data(), in.D.data(),
                       in.s0_or_null(), d_y.data(), d_s_final_or_null, kept.dx.data(), kept.ddt.data(),
                       kept.dB.data(), kept.dC.data(), kept.dD.data(), kept.ds0.data(), c.chunk, starts.data());
  EXPECT_TRUE(kept.all() == got.all()) << "the gradients from the kept chunk states differ";
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, SsdChunked,
    ::testing::Values(SsdCase{0, 4, 8, 2, 12, 16, true, true, 0.01f, 0.5f, false},      // no tokens
                      SsdCase{1, 4, 8, 2, 12, 16, true, true, 0.01f, 0.5f, false},      // one token
                      SsdCase{5, 4, 8, 1, 12, 16, false, true, 0.01f, 0.5f, false},     // shorter than a chunk
                      SsdCase{37, 6, 8, 3, 16, 16, true, true, 0.01f, 0.5f, false},     // ragged last chunk
                      SsdCase{37, 6, 8, 3, 16, 16, true, false, 0.01f, 0.5f, false},    // no final state
                      SsdCase{300, 4, 16, 2, 32, 64, true, true, 0.001f, 0.1f, false},  // long, slow decay
                      SsdCase{130, 4, 8, 2, 16, 64, true, true, 5.0f, 10.0f, true},     // strong decay
                      SsdCase{130, 4, 8, 4, 16, 64, true, true, 0.001f, 10.0f, true},    // mixed decays
                      SsdCase{20, 4, 8, 2, 12, 1, false, false, 0.01f, 0.5f, false},     // chunks of one token
                      SsdCase{100, 6, 24, 2, 40, 37, false, false, 0.01f, 0.5f, false},  // odd chunk size
                      // long enough that the backward cuts time into several windows (2^22 floats
                      // of per-head dB, dC shares hold 32 chunks here), the last one ragged
                      SsdCase{4100, 16, 8, 2, 64, 64, true, true, 0.001f, 0.1f, false}));

// Strong decay (dt A very negative), as for the gated delta rule: ds0 and the part of s_final that
// s0 feeds are tiny and must come out right relative to their own size.
struct SsdDecayCase {
  int64_t chunk;
  bool with_s0;
  float dt_lo, dt_hi;  // dt of most tokens (A in [-8, -5])
  float strong_share;  // the share of tokens whose dt is drawn from [3, 8] instead
};

void PrintTo(const SsdDecayCase& c, std::ostream* os) {
  *os << "chunk=" << c.chunk << (c.with_s0 ? " s0" : "") << " dt in [" << c.dt_lo << ", " << c.dt_hi
      << "] strong share " << c.strong_share;
}

class SsdStrongDecay : public ::testing::TestWithParam<SsdDecayCase> {};

TEST_P(SsdStrongDecay, StateGradientAccurateOnItsOwnScale) {
  const SsdDecayCase c = GetParam();
  const SsdCase shape{100, 4, 8, 2, 16, c.chunk, c.with_s0, false, c.dt_lo, c.dt_hi, true};
  SsdInputs in = ssd_inputs(shape, 47);
  std::mt19937 rng(53);
  std::uniform_real_distribution<float> unit(0.0f, 1.0f), strong(3.0f, 8.0f);
  for (auto& dt : in.dt)
    if (unit(rng) < c.strong_share) dt = strong(rng);
  for (int64_t h = 0; h < shape.H; ++h) in.dt[h] = strong(rng);  // the first token decays strongly
  const Vec d_y = uniform(shape.T * shape.H * shape.P, -1.0f, 1.0f, rng);
  SsdGrads ref(in.d), got(in.d);
  ssd_reference_backward(in.d, in.x.data(), in.dt.data(), in.A.data(), in.B.data(), in.C.data(), in.D.data(),
                         in.s0_or_null(), d_y.data(), nullptr, ref.dx.data(), ref.ddt.data(), ref.dB.data(),
                         ref.dC.data(), ref.dD.data(), ref.ds0.data());
  ssd_chunked_backward(in.d, in.x.data(), in.dt.data(), in.A.data(), in.B.data(), in.C.data(), in.D.data(),
                       in.s0_or_null(), d_y.data(), nullptr, got.dx.data(), got.ddt.data(), got.dB.data(),
                       got.dC.data(), got.dD.data(), got.ds0.data(), shape.chunk);
  double scale = 0.0;
  for (float x : ref.ds0) scale = std::max(scale, double(std::abs(x)));
  EXPECT_GT(scale, 0.0);
  EXPECT_LT(scale, 1e-5);  // the case is as intended: ds0 is tiny
  EXPECT_LE(relative_error(got.ds0, ref.ds0), 1e-4) << "max |ds0| " << scale;

  if (c.with_s0) {
    SsdInputs only_s0 = in;
    std::fill(only_s0.x.begin(), only_s0.x.end(), 0.0f);  // the state is then s0's, decayed
    for (const SsdInputs* x : {&in, &only_s0}) {
      const size_t out_n = shape.T * shape.H * shape.P, state_n = shape.H * shape.P * shape.N;
      Vec y_ref(out_n), y(out_n, NAN), s_ref(state_n), s(state_n, NAN);
      ssd_reference(x->d, x->x.data(), x->dt.data(), x->A.data(), x->B.data(), x->C.data(), x->D.data(),
                    x->s0_or_null(), y_ref.data(), s_ref.data());
      ssd_chunked(x->d, x->x.data(), x->dt.data(), x->A.data(), x->B.data(), x->C.data(), x->D.data(),
                  x->s0_or_null(), y.data(), s.data(), shape.chunk);
      EXPECT_LE(relative_error(y, y_ref), 1e-4);
      EXPECT_LE(relative_error(s, s_ref), 1e-4);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    Decays, SsdStrongDecay,
    ::testing::Values(SsdDecayCase{64, false, 3.0f, 8.0f, 0.0f},  // every token decays strongly
                      SsdDecayCase{64, true, 3.0f, 8.0f, 0.0f},
                      SsdDecayCase{64, false, 0.001f, 0.2f, 0.1f},  // a few tokens decay strongly
                      SsdDecayCase{64, true, 0.001f, 0.2f, 0.1f},
                      SsdDecayCase{16, true, 0.001f, 0.5f, 0.05f},
                      SsdDecayCase{37, false, 0.001f, 8.0f, 0.0f}));  // mixed, odd chunk size

// float64 forward, token by token, for the finite differences; loss = <y, r_y> + <s_final, r_s>.
double ssd_loss(const SsdDims& d, const std::vector<double>& x, const std::vector<double>& dt, const Vec& A,
                const std::vector<double>& B, const std::vector<double>& C, const std::vector<double>& D,
                const std::vector<double>& s0, const Vec& r_y, const Vec& r_s) {
  double loss = 0.0;
  for (int64_t h = 0; h < d.H; ++h) {
    const int64_t grp = h / (d.H / d.G);
    std::vector<double> S(s0.begin() + h * d.P * d.N, s0.begin() + (h + 1) * d.P * d.N);
    for (int64_t t = 0; t < d.T; ++t) {
      const int64_t r = t * d.H + h;
      const double decay = std::exp(dt[r] * A[h]);
      for (int64_t p = 0; p < d.P; ++p) {
        double y = D[h] * x[r * d.P + p];
        for (int64_t n = 0; n < d.N; ++n) {
          double& s = S[p * d.N + n];
          s = decay * s + dt[r] * x[r * d.P + p] * B[(t * d.G + grp) * d.N + n];
          y += s * C[(t * d.G + grp) * d.N + n];
        }
        loss += y * r_y[r * d.P + p];
      }
    }
    for (int64_t e = 0; e < d.P * d.N; ++e) loss += S[e] * r_s[h * d.P * d.N + e];
  }
  return loss;
}

TEST(SsdReferenceBackward, MatchesFiniteDifferences) {
  const SsdCase c{7, 4, 3, 2, 5, 0, true, true, 0.05f, 0.8f, false};
  const SsdInputs in = ssd_inputs(c, 31);
  std::mt19937 rng(37);
  const Vec r_y = uniform(c.T * c.H * c.P, -1.0f, 1.0f, rng), r_s = uniform(c.H * c.P * c.N, -1.0f, 1.0f, rng);
  SsdGrads got(in.d);
  ssd_reference_backward(in.d, in.x.data(), in.dt.data(), in.A.data(), in.B.data(), in.C.data(), in.D.data(),
                         in.s0.data(), r_y.data(), r_s.data(), got.dx.data(), got.ddt.data(), got.dB.data(),
                         got.dC.data(), got.dD.data(), got.ds0.data());
  auto x = to_double(in.x), dt = to_double(in.dt), B = to_double(in.B), C = to_double(in.C), D = to_double(in.D),
       s0 = to_double(in.s0);
  auto loss = [&] { return ssd_loss(in.d, x, dt, in.A, B, C, D, s0, r_y, r_s); };
  // float gradients against float64 differences: the error left is float rounding.
  const double h = 1e-5, tol = 1e-5;
  EXPECT_LE(relative_error(got.dx, finite_differences(x, loss, h)), tol);
  EXPECT_LE(relative_error(got.ddt, finite_differences(dt, loss, h)), tol);
  EXPECT_LE(relative_error(got.dB, finite_differences(B, loss, h)), tol);
  EXPECT_LE(relative_error(got.dC, finite_differences(C, loss, h)), tol);
  EXPECT_LE(relative_error(got.dD, finite_differences(D, loss, h)), tol);
  EXPECT_LE(relative_error(got.ds0, finite_differences(s0, loss, h)), tol);
}

}  // namespace
}  // namespace s0::ops::cpu
