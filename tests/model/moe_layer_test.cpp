// The MoE feed-forward (model/layers/ffn_layer.h) against a naive per-token loop in double: the
// router's softmax and top-k, each chosen expert's SwiGLU MLP, the shared expert and its sigmoid
// gate; experts stored stacked ([gate | up] one Linear) and apart (gate and up Linears).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

#include "check/reference_check.h"
#include "model/layers/ffn_layer.h"

using namespace s0;

namespace {

Tensor randn(Shape shape, std::mt19937& gen, float sd) {
  std::normal_distribution<float> dist(0.0f, sd);
  std::vector<float> v(static_cast<size_t>(numel_of(shape)));
  for (float& x : v) x = dist(gen);
  return Tensor::from(std::move(shape), v);
}

Linear linear(Tensor w) {
  Linear l;
  l.out = w.dim(0);
  l.in = w.dim(1);
  l.w = std::move(w);
  return l;
}

// A block with E experts of width I (the first half stored stacked, the rest apart), a gated
// shared expert of width S, top_k routing.
Block moe_block(int64_t H, int64_t E, int64_t I, int64_t S, int64_t top_k, bool normalize, uint32_t seed) {
  std::mt19937 gen(seed);
  Block blk;
  SparseMoe moe;
  moe.top_k = top_k;
  moe.normalize = normalize;
  moe.router = linear(randn({E, H}, gen, 0.5f));
  for (int64_t e = 0; e < E; ++e) {
    Expert x;
    if (e < E / 2) {
      x.gate_up.push_back(linear(randn({2 * I, H}, gen, 0.3f)));
    } else {
      x.gate_up.push_back(linear(randn({I, H}, gen, 0.3f)));
      x.gate_up.push_back(linear(randn({I, H}, gen, 0.3f)));
    }
    x.down = linear(randn({H, I}, gen, 0.3f));
    moe.experts.push_back(std::move(x));
  }
  blk.gate_up = linear(randn({2 * S, H}, gen, 0.3f));
  blk.down = linear(randn({H, S}, gen, 0.3f));
  moe.shared_gate = linear(randn({1, H}, gen, 0.5f));
  blk.moe = std::move(moe);
  return blk;
}

double silu(double x) { return x / (1.0 + std::exp(-x)); }

// row . W[r] in double
double dot(const Tensor& w, int64_t r, const float* x) {
  double s = 0;
  for (int64_t c = 0; c < w.dim(1); ++c) s += static_cast<double>(w.f32()[r * w.dim(1) + c]) * x[c];
  return s;
}

// y += down(silu(gate x) * up x) with [gate | up] given as row blocks.
void naive_mlp(const std::vector<Linear>& gate_up, const Linear& down, const float* x, double scale,
               std::vector<double>& y) {
  std::vector<double> gu;
  for (const Linear& l : gate_up)
    for (int64_t r = 0; r < l.out; ++r) gu.push_back(dot(l.w, r, x));
  const int64_t I = down.in;
  std::vector<float> act(static_cast<size_t>(I));
  for (int64_t j = 0; j < I; ++j) act[j] = static_cast<float>(silu(gu[j]) * gu[I + j]);
  for (int64_t r = 0; r < down.out; ++r) y[r] += scale * dot(down.w, r, act.data());
}

std::vector<double> naive_ffn(const Block& blk, const float* x) {
  const SparseMoe& m = *blk.moe;
  const int64_t H = blk.down.out, E = static_cast<int64_t>(m.experts.size());
  std::vector<double> y(static_cast<size_t>(H), 0.0), p(static_cast<size_t>(E));
  double top = -INFINITY, sum = 0;
  for (int64_t e = 0; e < E; ++e) top = std::max(top, p[e] = dot(m.router.w, e, x));
  for (double& v : p) sum += v = std::exp(v - top);
  for (double& v : p) v /= sum;
  std::vector<int64_t> order(static_cast<size_t>(E));
  std::iota(order.begin(), order.end(), int64_t{0});
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return p[a] > p[b]; });
  double chosen = 0;
  for (int64_t j = 0; j < m.top_k; ++j) chosen += p[order[j]];
  for (int64_t j = 0; j < m.top_k; ++j) {
    const Expert& ex = m.experts[order[j]];
    naive_mlp(ex.gate_up, ex.down, x, p[order[j]] / (m.normalize ? chosen : 1.0), y);
  }
  const double gate = 1.0 / (1.0 + std::exp(-dot(m.shared_gate.w, 0, x)));
  naive_mlp({blk.gate_up}, blk.down, x, gate, y);
  return y;
}

}  // namespace

TEST(MoeLayer, MatchesANaivePerTokenLoop) {
  const int64_t H = 12, E = 6, I = 5, S = 7, N = 23;
  for (bool normalize : {false, true}) {
    const Block blk = moe_block(H, E, I, S, /*top_k=*/3, normalize, normalize ? 61 : 62);
    std::mt19937 gen(63);
    const Tensor h = randn({N, H}, gen, 1.0f);
    const ops::Varlen seqs{{0, 9, 10, 23}};  // sequences of several rows and of one row
    Tensor out = Tensor::zeros({N, H});
    FfnSaved saved;
    ffn_forward(blk, seqs, h, out, saved);
    std::vector<float> want;
    for (int64_t t = 0; t < N; ++t)
      for (double v : naive_ffn(blk, h.f32() + t * H)) want.push_back(static_cast<float>(v));
    EXPECT_LE(max_relative_error(out.f32(), want.data(), N * H), 1e-5) << "normalize " << normalize;
    size_t routed = 0;
    for (const ExpertRun& run : saved.moe.runs) routed += run.rows.size();
    EXPECT_EQ(routed, static_cast<size_t>(N * 3)) << "every token reaches top_k experts";
  }
}

TEST(MoeLayer, ARowsResultIsIndependentOfTheOtherSequences) {
  const int64_t H = 10, N = 30;
  const Block blk = moe_block(H, 4, 6, 5, /*top_k=*/2, true, 64);
  std::mt19937 gen(65);
  const Tensor h = randn({N, H}, gen, 1.0f);
  Tensor packed = Tensor::zeros({N, H});
  FfnSaved saved;
  ffn_forward(blk, ops::Varlen{{0, 11, 12, 30}}, h, packed, saved);
  // The first sequence alone, and the one-row sequence alone.
  for (auto [begin, len] : {std::pair<int64_t, int64_t>{0, 11}, {11, 1}}) {
    Tensor alone_h = Tensor::zeros({len, H});
    std::copy(h.f32() + begin * H, h.f32() + (begin + len) * H, alone_h.f32_mut());
    Tensor alone = Tensor::zeros({len, H});
    FfnSaved s;
    ffn_forward(blk, ops::Varlen{{0, len}}, alone_h, alone, s);
    EXPECT_EQ(max_relative_error(packed.f32() + begin * H, alone.f32(), len * H), 0.0) << "rows from " << begin;
  }
}
