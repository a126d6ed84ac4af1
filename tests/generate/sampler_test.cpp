// The sampler's arithmetic: token weights against the C library's exp, draws that follow the
// softmax at the temperature, and the contract the GPU path relies on: a draw over a row's most
// likely tokens is the draw over the whole row, or declines without touching the stream; next()
// against its definition written out; rows drawn over threads.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

#include "core/tensor.h"
#include "generate/next_tokens.h"
#include "generate/sampler.h"
#include "ops/threads.h"
#include "ops/sampling_weight.h"

using namespace s0;

namespace {

// A row of logits with ties (quarter steps) and both zeros, peaked or flat by `scale`.
std::vector<float> test_row(int64_t vocab, float scale, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> n(0.0f, scale);
  std::vector<float> row(static_cast<size_t>(vocab));
  for (float& v : row) v = std::round(n(rng) * 4.0f) / 4.0f;
  row[3] = -0.0f;
  row[5] = 0.0f;
  return row;
}

// Row `row`'s `count` most likely tokens in order (ties by id) and the weight total of its top-k set.
struct Prefix {
  std::vector<int64_t> ids;
  std::vector<uint64_t> weights;
  uint64_t total = 0;
};
Prefix prefix_of(const std::vector<float>& row, const SamplingOptions& o, int64_t count) {
  const int64_t vocab = static_cast<int64_t>(row.size());
  std::vector<int64_t> ids(row.size());
  std::iota(ids.begin(), ids.end(), int64_t{0});
  std::stable_sort(ids.begin(), ids.end(), [&](int64_t a, int64_t b) { return row[a] > row[b]; });
  Prefix p;
  for (int64_t i = 0; i < o.kept_by_top_k(vocab); ++i)
    p.total += ops::sampling_weight(row[ids[i]], row[ids[0]], o.temperature);
  ids.resize(static_cast<size_t>(std::min(count, o.kept_by_top_k(vocab))));
  for (int64_t id : ids) p.weights.push_back(ops::sampling_weight(row[id], row[ids[0]], o.temperature));
  p.ids = ids;
  return p;
}

}  // namespace

TEST(SamplingWeight, IsExpInUnitsOfTwoToTheMinus40) {
  EXPECT_EQ(ops::sampling_weight(3.5f, 3.5f, 0.7), uint64_t{1} << 40);
  EXPECT_EQ(ops::sampling_weight(-0.0f, 0.0f, 1.0), uint64_t{1} << 40);
  EXPECT_EQ(ops::sampling_weight(-30.0f, 0.0f, 1.0), 0u);
  EXPECT_EQ(ops::sampling_weight(NAN, 0.0f, 1.0), 0u);
  for (int i = 0; i <= 28000; ++i) {
    const float logit = -static_cast<float>(i) * 1e-3f;
    const double want = std::floor(std::exp(static_cast<double>(logit)) * 0x1p40);
    const double got = static_cast<double>(ops::sampling_weight(logit, 0.0f, 1.0));
    EXPECT_LE(std::abs(got - want), 1.0 + want * 1e-15) << "logit " << logit;
  }
}

TEST(Sampling, DrawsFollowTheSoftmaxAtTheTemperature) {
  // Weights 1 : 2 : 4 at T = 0.5 (logits ln(w) / 2); 60000 draws.
  const std::vector<float> row = {static_cast<float>(std::log(1.0) / 2), static_cast<float>(std::log(2.0) / 2),
                                  static_cast<float>(std::log(4.0) / 2)};
  SamplingOptions o;
  o.temperature = 0.5;
  o.seed = 9;
  TokenSampler s(o, 0);
  std::vector<int> seen(3);
  const int draws = 60000;
  for (int i = 0; i < draws; ++i) ++seen[static_cast<size_t>(s.next(row.data(), 3))];
  for (int t = 0; t < 3; ++t) EXPECT_NEAR(seen[t] / static_cast<double>(draws), (1 << t) / 7.0, 0.01) << "token " << t;
  // top_p 0.5 keeps the most likely token alone (4/7 >= 0.5); top_k 2 the two most likely.
  o.top_p = 0.5;
  TokenSampler p(o, 0);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(p.next(row.data(), 3), 2);
  o.top_p = 1.0;
  o.top_k = 2;
  TokenSampler k(o, 0);
  for (int i = 0; i < 300; ++i) EXPECT_NE(k.next(row.data(), 3), 0);
}

// What the GPU hands over (a row's most likely tokens and its total) draws the token the whole row
// draws; where the nucleus reaches past them the draw declines and the stream is untouched.
TEST(Sampling, DrawOverTheMostLikelyTokensIsTheWholeRowsDraw) {
  int declined = 0, drawn = 0;
  for (float scale : {0.3f, 4.0f})
    for (double temperature : {0.6, 1.0, 3.0})
      for (int64_t top_k : {0, 1, 9, 400})
        for (double top_p : {1.0, 0.9, 0.3}) {
          SamplingOptions o{temperature, top_p, top_k, 5};
          const std::vector<float> row = test_row(700, scale, static_cast<uint64_t>(top_k) + 17);
          const Prefix p = prefix_of(row, o, 64);
          for (uint64_t stream = 0; stream < 4; ++stream) {
            TokenSampler whole(o, stream), from_prefix(o, stream);
            for (int step = 0; step < 3; ++step) {
              const int64_t want = whole.next(row.data(), 700);
              const int64_t count = static_cast<int64_t>(p.ids.size());
              std::optional<int64_t> got =
                  from_prefix.draw({p.ids.data(), p.weights.data(), count, p.total, count == o.kept_by_top_k(700)});
              if (got) {
                ++drawn;
              } else {
                ++declined;
                got = from_prefix.next(row.data(), 700);
              }
              EXPECT_EQ(*got, want) << "T " << temperature << " top_k " << top_k << " top_p " << top_p;
            }
          }
        }
  EXPECT_GT(declined, 0);  // both paths were taken
  EXPECT_GT(drawn, 0);
}

// TokenSampler::next against the sampler's definition written out plainly: every token sorted most
// likely first (ties by id; NaN first, as the order bits put it), weights against the first one,
// the top-k set's total, the shortest prefix reaching top_p of it, and the token whose span holds
// uniform_below of the stream's bits. Rows flat (the nucleus is most of the row, past the sampler's
// radix-sorted prefixes), peaked, with ties, and with a NaN among finite logits; settings whose
// top_k cuts through the row.
TEST(Sampling, NextIsTheWrittenOutDefinition) {
  auto definition = [](const std::vector<float>& row, const SamplingOptions& o, uint64_t bits) {
    const int64_t vocab = static_cast<int64_t>(row.size());
    std::vector<int64_t> ids(row.size());
    std::iota(ids.begin(), ids.end(), int64_t{0});
    std::sort(ids.begin(), ids.end(), [&](int64_t a, int64_t b) {
      const uint32_t ka = ~ops::ascending_bits(row[a]), kb = ~ops::ascending_bits(row[b]);
      return ka != kb ? ka < kb : a < b;
    });
    const int64_t k = o.kept_by_top_k(vocab);
    std::vector<uint64_t> w;
    uint64_t total = 0;
    for (int64_t i = 0; i < k; ++i) total += w.emplace_back(ops::sampling_weight(row[ids[i]], row[ids[0]], o.temperature));
    const double reach = ops::nucleus_reach(o.top_p, total);
    uint64_t kept = 0;
    int64_t keep = 0;
    while (keep < k) {
      kept += w[keep++];
      if (static_cast<double>(kept) >= reach) break;
    }
    uint64_t u = ops::uniform_below(bits, kept);
    for (int64_t i = 0; i < keep; ++i) {
      if (u < w[i]) return ids[i];
      u -= w[i];
    }
    return ids[keep - 1];
  };
  std::mt19937_64 rng(11);
  const std::vector<SamplingOptions> settings = {
      {0.7, 0.95, 0, 2}, {1.0, 1.0, 0, 2}, {0.6, 0.9, 30000, 2}, {2.0, 0.5, 7, 2}, {0.3, 0.99, 0, 2}};
  for (const int64_t vocab : {int64_t{1000}, int64_t{100000}}) {
    for (const float spread : {0.05f, 0.3f, 6.0f}) {
      std::normal_distribution<float> n(0.0f, spread);
      std::vector<float> row(static_cast<size_t>(vocab));
      for (float& v : row) v = n(rng);
      for (int64_t j = 0; j < vocab; j += 97) row[static_cast<size_t>(j)] = row[static_cast<size_t>(j / 2)];  // ties
      std::vector<float> with_nan = row;
      with_nan[static_cast<size_t>(vocab / 3)] = NAN;
      for (const std::vector<float>* r : {&row, &with_nan})
        for (const SamplingOptions& o : settings)
          for (uint64_t stream = 0; stream < 3; ++stream) {
            TokenSampler sampler(o, stream), bits(o, stream);
            for (int step = 0; step < 2; ++step)
              EXPECT_EQ(sampler.next(r->data(), vocab), definition(*r, o, bits.take_draw_bits()))
                  << "vocab " << vocab << " spread " << spread << (r == &row ? "" : " with a NaN") << " T "
                  << o.temperature << " top_p " << o.top_p << " top_k " << o.top_k << " step " << step;
          }
    }
  }
}

// next_tokens on the CPU draws its rows over the compute threads: each row's token is the one a
// single thread draws, whatever the thread count, rows sampled and greedy mixed.
TEST(Sampling, RowsDrawnOverThreadsAreOneThreadsTokens) {
  const int64_t rows = 7, vocab = 20000;
  std::mt19937_64 rng(21);
  std::normal_distribution<float> n(0.0f, 0.3f);
  Tensor logits = Tensor::zeros({rows, vocab});
  for (int64_t i = 0; i < rows * vocab; ++i) logits.f32_mut()[i] = n(rng);
  auto draw = [&](int threads) {
    ops::set_compute_threads(threads);
    std::vector<TokenSampler> samplers;
    for (int64_t r = 0; r < rows; ++r)
      samplers.emplace_back(SamplingOptions{r == 3 ? 0.0 : 0.7, 0.95, 0, 4}, static_cast<uint64_t>(r));
    std::vector<TokenSampler*> ptrs;
    for (TokenSampler& s : samplers) ptrs.push_back(&s);
    std::vector<std::vector<int64_t>> steps;
    for (int step = 0; step < 3; ++step) steps.push_back(next_tokens(logits, ptrs).on_host());
    return steps;
  };
  const auto one = draw(1);
  for (const int threads : {2, 3}) EXPECT_EQ(draw(threads), one) << threads << " threads";
  ops::set_compute_threads(ops::available_cores());
}
