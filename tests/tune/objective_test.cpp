// The S0 objective and its gradient on the tiny fixture models: against finite differences of the
// whole model (for the state-offset variant's offsets too), invariant to how examples are batched,
// identical with per-layer recomputation, and every loss row counted once by the LM head's chunks.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "check/reference_check.h"
#include "check/reference_fixture.h"
#include "model/forward.h"
#include "model/arch/registry.h"
#include "support/test_support.h"
#include "tune/objective.h"

using namespace s0;

namespace {

struct FixtureData {
  HybridModel model;
  std::vector<Example> examples;
  StateSet s0;
};

FixtureData load(const std::string& fixture) {
  FixtureData s{load_model(test::fixture_model(fixture)), {}, {}};
  ReferenceFixture fx = ReferenceFixture::open(test::fixture_model(fixture), s.model);
  for (size_t k = 0; k < fx.sequences.size(); ++k) s.examples.push_back({fx.sequences[k], fx.prompt_lens[k]});
  s.s0 = fx.s0;
  return s;
}

double dot(const std::vector<Tensor>& a, const std::vector<Tensor>& b) {
  double d = 0;
  for (size_t i = 0; i < a.size(); ++i)
    for (int64_t j = 0; j < a[i].numel(); ++j) d += static_cast<double>(a[i].f32()[j]) * b[i].f32()[j];
  return d;
}

StateSet axpy(const StateSet& s, double h, const std::vector<Tensor>& v) {
  StateSet out;
  out.variant = s.variant;
  for (size_t i = 0; i < s.states.size(); ++i) {
    Tensor t = s.states[i].clone();
    for (int64_t j = 0; j < t.numel(); ++j) t.f32_mut()[j] += static_cast<float>(h * v[i].f32()[j]);
    out.states.push_back(t);
  }
  return out;
}

// Central differences of J along random unit directions match <dJ/dS0, v>. J is computed in
// float32 (about 1e-6 relative), so the step is large enough that its rounding stays below 1e-4 of
// the slope while the O(h^2) truncation stays smaller still.
// With the state-offset variant (a tenth of) the fixture's states serve as offsets and the gradient
// is the offsets'.
void expect_gradient_matches_finite_differences(const std::string& fixture,
                                                AdapterVariant variant = AdapterVariant::s0) {
  FixtureData s = load(fixture);
  s.s0.variant = variant;
  // An offset as large as a trained S0 is read out at every token, which curves J so much along it
  // that the step below leaves the linear regime (and near zero the fixtures' outputs are small
  // enough for the gated norm to curve it as much): a tenth of the states stays where central
  // differences at this step measure the slope.
  if (variant == AdapterVariant::state_offset)
    for (Tensor& t : s.s0.states)
      for (int64_t j = 0; j < t.numel(); ++j) t.f32_mut()[j] *= 0.1f;
  ObjectiveOptions opt;
  ObjectiveResult g = objective_and_gradient(s.model, s.examples, s.s0, opt);
  std::mt19937 rng(5);
  std::normal_distribution<float> nd;
  for (int trial = 0; trial < 3; ++trial) {
    std::vector<Tensor> v;
    double norm = 0;
    for (const Tensor& t : g.grad) {
      Tensor d = Tensor::zeros(t.shape());
      for (int64_t j = 0; j < d.numel(); ++j) {
        d.f32_mut()[j] = nd(rng);
        norm += static_cast<double>(d.f32()[j]) * d.f32()[j];
      }
      v.push_back(d);
    }
    for (Tensor& d : v)
      for (int64_t j = 0; j < d.numel(); ++j) d.f32_mut()[j] = static_cast<float>(d.f32()[j] / std::sqrt(norm));
    const double h = 1e-2;
    const double jp = objective_only(s.model, s.examples, axpy(s.s0, h, v), opt).objective;
    const double jm = objective_only(s.model, s.examples, axpy(s.s0, -h, v), opt).objective;
    const double fd = (jp - jm) / (2 * h), analytic = dot(g.grad, v);
    EXPECT_NEAR(fd, analytic, 2e-3 * std::max(std::fabs(analytic), 1e-2)) << fixture << " trial " << trial;
  }
}

}  // namespace

TEST(Objective, QwenGradientMatchesFiniteDifferences) { expect_gradient_matches_finite_differences("qwen35-text"); }
TEST(Objective, FalconGradientMatchesFiniteDifferences) {
  expect_gradient_matches_finite_differences("falcon-h1");
}

TEST(Objective, QwenStateOffsetGradientMatchesFiniteDifferences) {
  expect_gradient_matches_finite_differences("qwen35-text", AdapterVariant::state_offset);
}
TEST(Objective, FalconStateOffsetGradientMatchesFiniteDifferences) {
  expect_gradient_matches_finite_differences("falcon-h1", AdapterVariant::state_offset);
}

TEST(Objective, BatchedEqualsOneAtATime) {
  for (const char* f : {"qwen35-vl-tied", "falcon-h1-plain"}) {
    FixtureData s = load(f);
    ASSERT_EQ(s.examples.size(), 2u) << f;
    // Each fixture example twice, {a, a, b, b}: under a budget of one a and one b, packing puts
    // examples that are not adjacent together ({0, 2} and {1, 3}).
    const Example a = s.examples[0], b = s.examples[1];
    s.examples = {a, a, b, b};
    ObjectiveOptions packed, paired, alone;
    alone.max_batch_tokens = 1;  // every example in its own batch
    paired.max_batch_tokens = static_cast<int64_t>(a.ids.size() + b.ids.size());
    ObjectiveResult want = objective_and_gradient(s.model, s.examples, s.s0, alone);
    for (const ObjectiveOptions& o : {packed, paired}) {
      ObjectiveResult got = objective_and_gradient(s.model, s.examples, s.s0, o);
      EXPECT_NEAR(got.objective, want.objective, 1e-5 * std::fabs(want.objective)) << f;
      for (size_t k = 0; k < got.example_loss.size(); ++k)
        EXPECT_NEAR(got.example_loss[k], want.example_loss[k], 1e-5 * std::fabs(want.example_loss[k]))
            << f << " example " << k;
      for (size_t i = 0; i < got.grad.size(); ++i)
        EXPECT_LE(max_relative_error(got.grad[i].f32(), want.grad[i].f32(), got.grad[i].numel()), 1e-5)
            << f << " layer " << i;
    }
  }
}

TEST(Objective, RecomputationGivesTheSameGradient) {
  FixtureData s = load("qwen35-text");
  ObjectiveOptions tape, recompute;
  recompute.recompute = true;
  ObjectiveResult a = objective_and_gradient(s.model, s.examples, s.s0, tape);
  ObjectiveResult b = objective_and_gradient(s.model, s.examples, s.s0, recompute);
  for (size_t i = 0; i < a.grad.size(); ++i)
    EXPECT_EQ(max_relative_error(a.grad[i].f32(), b.grad[i].f32(), a.grad[i].numel()), 0.0);
}

TEST(Objective, MeanOfPerExampleMeans) {
  FixtureData s = load("falcon-h1");
  ObjectiveOptions opt;
  opt.l2_lambda = 0;
  ObjectiveResult all = objective_only(s.model, s.examples, s.s0, opt);
  double mean = 0;
  for (const Example& e : s.examples) mean += objective_only(s.model, {e}, s.s0, opt).objective / s.examples.size();
  EXPECT_NEAR(all.objective, mean, 1e-6 * mean);
  EXPECT_NE(all.example_loss[0], all.example_loss[1]);  // examples of different lengths weigh the same
}

// The LM head runs over chunks of loss rows that take whole examples while they fit and cut longer
// ones: each example's mean token loss, in the gradient pass and the forward-only pass, is the
// cross-entropy of a forward with every logit, mean over its completion rows (so every row counts
// once). The lengths give an example cut into three chunks, one finishing a chunk that others join,
// and examples that start chunks of their own.
TEST(Objective, LossChunksCountEveryRowOnce) {
  FixtureData s = load("qwen35-text");
  std::mt19937 rng(3);
  std::uniform_int_distribution<int64_t> token(0, s.model.vocab - 1);
  std::vector<Example> examples;
  for (auto [length, prompt] : {std::pair<int64_t, int64_t>{600, 20}, {90, 30}, {200, 10}, {140, 5}, {40, 39}}) {
    Example e{std::vector<int64_t>(static_cast<size_t>(length)), prompt};
    for (int64_t& id : e.ids) id = token(rng);
    examples.push_back(std::move(e));
  }
  ObjectiveOptions opt;
  opt.l2_lambda = 0;
  const ObjectiveResult with_gradient = objective_and_gradient(s.model, examples, s.s0, opt);
  const ObjectiveResult forward_only = objective_only(s.model, examples, s.s0, opt);
  for (size_t i = 0; i < examples.size(); ++i) {
    const Example& e = examples[i];
    ForwardOptions fo;
    fo.all_logits = true;
    const Tensor logits = forward(s.model, PackedBatch::from_sequences({e.ids}, {&s.s0}), fo).logits;
    const int64_t T = static_cast<int64_t>(e.ids.size()), V = s.model.vocab;
    double sum = 0;
    for (int64_t t = e.prompt_len - 1; t < T - 1; ++t) {
      const float* row = logits.f32() + t * V;
      double top = row[0], z = 0;
      for (int64_t v = 1; v < V; ++v) top = std::max(top, static_cast<double>(row[v]));
      for (int64_t v = 0; v < V; ++v) z += std::exp(row[v] - top);
      sum += top + std::log(z) - row[e.ids[static_cast<size_t>(t + 1)]];
    }
    const double want = sum / static_cast<double>(T - e.prompt_len);
    EXPECT_NEAR(with_gradient.example_loss[i], want, 1e-5 * want) << "example " << i;
    EXPECT_NEAR(forward_only.example_loss[i], want, 1e-5 * want) << "example " << i;
  }
}
