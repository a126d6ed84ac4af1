// The state-offset read-out (ops/state_offset.h) over a packed batch in both state layouts: the
// forward against a float64 loop over tokens, the backward against that oracle's gradient and
// against central finite differences of it, sequences without an offset left alone, and the bits
// of a token independent of the batch and of how its sequence is cut into calls (cached decoding).
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "finite_differences.h"
#include "naive_ops.h"
#include "ops/state_offset.h"

namespace s0 {
namespace {

using naive::Vec;

struct Case {
  const char* name;
  ops::OffsetLayout layout;
  int64_t Hr, H, K, V;
};

// Where D(h, k, v) is in a state-shaped offset.
int64_t offset_index(const Case& c, int64_t h, int64_t k, int64_t v) {
  return c.layout == ops::OffsetLayout::KeyFirst ? (h * c.K + k) * c.V + v : (h * c.V + v) * c.K + k;
}

Shape offset_shape(const Case& c) {
  return c.layout == ops::OffsetLayout::KeyFirst ? Shape{c.H, c.K, c.V} : Shape{c.H, c.V, c.K};
}

// The offset's read-out of one sequence's rows in float64: a loop over tokens, heads and outputs.
Vec naive_offset(const Case& c, const Vec& read, const Vec& D, int64_t rows) {
  Vec out(static_cast<size_t>(rows * c.H * c.V), 0.0);
  for (int64_t t = 0; t < rows; ++t)
    for (int64_t h = 0; h < c.H; ++h)
      for (int64_t v = 0; v < c.V; ++v)
        for (int64_t k = 0; k < c.K; ++k)
          out[(t * c.H + h) * c.V + v] += read[(t * c.Hr + h / (c.H / c.Hr)) * c.K + k] * D[offset_index(c, h, k, v)];
  return out;
}

Tensor tensor(const std::vector<float>& v, Shape shape) {
  Tensor t = Tensor::zeros(shape);
  std::memcpy(t.f32_mut(), v.data(), v.size() * sizeof(float));
  return t;
}

std::vector<float> values(const Tensor& t) { return std::vector<float>(t.f32(), t.f32() + t.numel()); }

std::vector<float> rows_of(const std::vector<float>& v, int64_t begin, int64_t count, int64_t width) {
  return std::vector<float>(v.begin() + begin * width, v.begin() + (begin + count) * width);
}

class StateOffset : public ::testing::TestWithParam<Case> {
 protected:
  // Three sequences: 3 tokens with offset A, 2 without, 4 with offset B.
  const std::vector<int64_t> lengths{3, 2, 4};
  ops::Varlen seqs{{0, 3, 5, 9}};
  const int64_t N = 9;
  Case c = GetParam();
  std::vector<float> read = naive::randn(static_cast<size_t>(N * c.Hr * c.K), 11);
  std::vector<float> A = naive::randn(static_cast<size_t>(c.H * c.K * c.V), 12, 0.5f);
  std::vector<float> B = naive::randn(static_cast<size_t>(c.H * c.K * c.V), 13, 0.5f);
  std::vector<float> base = naive::randn(static_cast<size_t>(N * c.H * c.V), 14);  // the recurrence's output
  std::vector<float> d_out = naive::randn(static_cast<size_t>(N * c.H * c.V), 15);

  std::vector<ops::SequenceStart> starts() const {
    std::vector<ops::SequenceStart> s(3);
    s[0].offset = tensor(A, offset_shape(c));
    s[2].offset = tensor(B, offset_shape(c));
    return s;
  }
  const std::vector<float>* offset_of(size_t s) const { return s == 0 ? &A : s == 2 ? &B : nullptr; }
};

TEST_P(StateOffset, ForwardAddsTheNaiveReadOut) {
  Tensor out = tensor(base, {N, c.H, c.V});
  ops::state_offset_forward(tensor(read, {N, c.Hr, c.K}), seqs, starts(), c.layout, out);
  Vec want = naive::to_double(base);
  for (size_t s = 0; s < 3; ++s) {
    if (!offset_of(s)) continue;  // no offset: nothing added
    const int64_t b = seqs.begin(static_cast<int64_t>(s)), L = lengths[s];
    const Vec add = naive_offset(c, naive::to_double(rows_of(read, b, L, c.Hr * c.K)), naive::to_double(*offset_of(s)), L);
    for (size_t i = 0; i < add.size(); ++i) want[static_cast<size_t>(b * c.H * c.V) + i] += add[i];
  }
  naive::expect_close(values(out), want, 1e-6, 1e-6, "out");
  // The sequence without an offset is untouched, bit for bit.
  EXPECT_EQ(rows_of(values(out), 3, 2, c.H * c.V), rows_of(base, 3, 2, c.H * c.V));
}

TEST_P(StateOffset, BackwardMatchesTheOracleAndFiniteDifferences) {
  Tensor d_read = Tensor::zeros({N, c.Hr, c.K});
  // The recurrence's backward fills every sequence's initial-state gradient first; the op replaces
  // those of the sequences with an offset and leaves the other one as it was.
  std::vector<Tensor> d_adapter(3);
  const std::vector<float> sentinel(static_cast<size_t>(c.H * c.K * c.V), 7.0f);
  for (Tensor& t : d_adapter) t = tensor(sentinel, offset_shape(c));
  ops::state_offset_backward(tensor(read, {N, c.Hr, c.K}), seqs, starts(), c.layout, tensor(d_out, {N, c.H, c.V}),
                             d_read, &d_adapter);
  EXPECT_EQ(values(d_adapter[1]), sentinel);

  Vec want_read(read.size(), 0.0);
  for (size_t s = 0; s < 3; ++s) {
    const int64_t b = seqs.begin(static_cast<int64_t>(s)), L = lengths[s];
    const Vec r = naive::to_double(rows_of(read, b, L, c.Hr * c.K));
    const Vec dy = naive::to_double(rows_of(d_out, b, L, c.H * c.V));
    if (!offset_of(s)) {
      EXPECT_EQ(rows_of(values(d_read), b, L, c.Hr * c.K), std::vector<float>(r.size(), 0.0f));
      continue;
    }
    const Vec D = naive::to_double(*offset_of(s));
    // The float64 oracle's gradients, by its formula...
    Vec g_read(r.size(), 0.0), g_D(D.size(), 0.0);
    for (int64_t t = 0; t < L; ++t)
      for (int64_t h = 0; h < c.H; ++h)
        for (int64_t k = 0; k < c.K; ++k)
          for (int64_t v = 0; v < c.V; ++v) {
            const size_t ri = static_cast<size_t>((t * c.Hr + h / (c.H / c.Hr)) * c.K + k);
            const size_t oi = static_cast<size_t>((t * c.H + h) * c.V + v);
            g_read[ri] += dy[oi] * D[offset_index(c, h, k, v)];
            g_D[offset_index(c, h, k, v)] += r[ri] * dy[oi];
          }
    naive::expect_grad(rows_of(values(d_read), b, L, c.Hr * c.K), g_read, "d_read");
    naive::expect_grad(values(d_adapter[s]), g_D, "d_offset");
    // ... and by central differences of the oracle's forward.
    naive::expect_grad(rows_of(values(d_read), b, L, c.Hr * c.K),
                       naive::fd_grad([&](const Vec& x) { return naive_offset(c, x, D, L); }, r, dy), "d_read (fd)");
    naive::expect_grad(values(d_adapter[s]),
                       naive::fd_grad([&](const Vec& x) { return naive_offset(c, r, x, L); }, D, dy), "d_offset (fd)");
  }
}

// A token's result is the same bits alone, in a batch, or fed one token per call as a decode is.
TEST_P(StateOffset, TokensDoNotDependOnTheBatchOrOnTheCallsTheyCameIn) {
  Tensor batched = tensor(base, {N, c.H, c.V});
  ops::state_offset_forward(tensor(read, {N, c.Hr, c.K}), seqs, starts(), c.layout, batched);
  const std::vector<ops::SequenceStart> all = starts();
  const int64_t b = 5, L = 4, width = c.H * c.V;
  for (int64_t t = 0; t < L; ++t) {
    Tensor one = tensor(rows_of(base, b + t, 1, width), {1, c.H, c.V});
    ops::state_offset_forward(tensor(rows_of(read, b + t, 1, c.Hr * c.K), {1, c.Hr, c.K}), ops::Varlen{{0, 1}},
                              {all[2]}, c.layout, one);
    EXPECT_EQ(values(one), rows_of(values(batched), b + t, 1, width)) << "token " << t;
  }
}

INSTANTIATE_TEST_SUITE_P(Layouts, StateOffset,
                         ::testing::Values(Case{"gated_delta_grouped", ops::OffsetLayout::KeyFirst, 2, 4, 3, 5},
                                           Case{"gated_delta_per_head", ops::OffsetLayout::KeyFirst, 3, 3, 4, 2},
                                           Case{"mamba2_one_group", ops::OffsetLayout::KeyLast, 1, 4, 3, 5},
                                           Case{"mamba2_two_groups", ops::OffsetLayout::KeyLast, 2, 4, 5, 3}),
                         [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace s0
