// Incremental decoding against the fixtures and against full recomputation, for both families,
// with and without an adapter (S0 or state offset); batch invariance with mixed adapters and
// variants; seeded sampling.
#include <gtest/gtest.h>

#include <cmath>

#include "check/reference_check.h"
#include "check/reference_fixture.h"
#include "generate/generator.h"
#include "model/arch/random_qwen35.h"
#include "model/arch/registry.h"
#include "model/forward.h"
#include "generate/loaded_fixture.h"
#include "support/small_models.h"
#include "support/test_support.h"

using namespace s0;
using test::error_of;

namespace {

using Loaded = test::LoadedFixture;

// S0 scaled by `factor`: a second adapter for mixed batches; with `variant` state_offset, the same
// tensors as per-step state offsets.
StateSet scaled(const StateSet& s, float factor, AdapterVariant variant = AdapterVariant::s0) {
  StateSet out;
  out.variant = variant;
  for (const Tensor& t : s.states) {
    Tensor c = t.clone();
    for (int64_t i = 0; i < c.numel(); ++i) c.f32_mut()[i] *= factor;
    out.states.push_back(c);
  }
  return out;
}

class EveryFixture : public ::testing::TestWithParam<std::string> {};

TEST_P(EveryFixture, GreedyTokensMatchReference) {
  const ReferenceReport r = check_reference(test::fixture_model(GetParam()));
  int gen_lines = 0;
  for (const CheckLine& l : r.lines)
    if (l.quantity.rfind("gen.", 0) == 0) {
      ++gen_lines;
      EXPECT_TRUE(l.pass) << l.quantity << ": " << l.error << " mismatching tokens";
    }
  EXPECT_EQ(gen_lines, 2);
  for (const std::string& n : r.not_checked) EXPECT_NE(n.rfind("gen.", 0), 0u) << n;
}

// 32 cached steps give the logits a full forward over prompt + generated tokens gives.
void expect_cached_equals_recomputation(const HybridModel& model, const std::vector<int64_t>& prompt,
                                        const StateSet* initial, double tolerance) {
  GenerationOptions go;
  go.max_new_tokens = 32;
  go.keep_logits = true;
  go.sampling.temperature = 1.0;  // sampled, so the continuation is not a greedy loop
  go.sampling.seed = 3;
  const Generation g = generate(model, {{prompt, initial, 0}}, go).at(0);
  ASSERT_EQ(g.tokens.size(), 32u);
  std::vector<int64_t> full = prompt;
  full.insert(full.end(), g.tokens.begin(), g.tokens.end() - 1);
  ForwardOptions fo;
  fo.all_logits = true;
  const ForwardOutput ref = forward(model, PackedBatch::from_sequences({full}, {initial}), fo);
  for (size_t step = 0; step < g.logits.size(); ++step) {
    const float* want = ref.logits.f32() + (prompt.size() - 1 + step) * model.vocab;
    EXPECT_LE(max_relative_error(g.logits[step].data(), want, model.vocab), tolerance)
        << "step " << step << (initial ? " with an adapter" : " without");
  }
}

TEST_P(EveryFixture, CachedDecodingEqualsRecomputation) {
  const Loaded L(GetParam());
  // The GatedDeltaNet fixtures (Qwen3.5, Qwen3.5-MoE, Qwen3-Next) are ill-conditioned on purpose:
  // their read-out nearly cancels and the gated norm scales it up, so float32 rounding in the
  // recurrence (token by token vs chunked) shows at 1e-5 in the logits -- as large as the full
  // forward's own distance from the float64 reference (1.3e-5 on qwen35-text). The
  // well-conditioned random model below holds 1e-5.
  const double tolerance = L.model.recurrent.at(0).arch == "gated_delta_net" ? 5e-5 : 1e-5;
  // The state offset is read out at every cached step as in the full forward.
  const StateSet offset = scaled(L.fx.s0, 0.1f, AdapterVariant::state_offset);
  for (const StateSet* initial : {static_cast<const StateSet*>(nullptr), &L.fx.s0, &offset})
    expect_cached_equals_recomputation(L.model, L.prompt(0, L.fx.prompt_lens[0]), initial, tolerance);
}

TEST(RandomQwen35, CachedDecodingEqualsRecomputation) {
  test::TempDir dir;
  const Qwen35Dims d = test::small_qwen35();
  write_random_qwen35(dir.path(), d);
  const HybridModel model = load_model(dir.path());
  StateSet s0;
  for (const RecurrentLayer& r : model.recurrent) {
    Tensor t = Tensor::zeros(r.state_shape);
    for (int64_t i = 0; i < t.numel(); ++i) t.f32_mut()[i] = 0.3f * std::sin(0.7f * static_cast<float>(i));
    s0.states.push_back(t);
  }
  const std::vector<int64_t> prompt = {5, 17, 200, 3, 99, 42, 7, 250, 1, 64, 128, 33};
  const StateSet offset = scaled(s0, 1.0f, AdapterVariant::state_offset);
  for (const StateSet* initial : {static_cast<const StateSet*>(nullptr), static_cast<const StateSet*>(&s0), &offset})
    expect_cached_equals_recomputation(model, prompt, initial, 1e-5);
  // The offset does change what the model says (so the check above is not of a no-op).
  ForwardOptions fo;
  fo.all_logits = true;
  const ForwardOutput plain = forward(model, PackedBatch::from_sequences({prompt}), fo);
  const ForwardOutput shifted = forward(model, PackedBatch::from_sequences({prompt}, {&offset}), fo);
  EXPECT_GT(max_relative_error(shifted.logits.f32(), plain.logits.f32(), shifted.logits.numel()), 1e-3);
}

// A sequence's tokens and logits do not depend on the other sequences of its batch, their
// adapters (S0 or state offset), or the batch size, greedy or sampled.
TEST_P(EveryFixture, BatchInvariance) {
  const Loaded L(GetParam());
  const StateSet half = scaled(L.fx.s0, 0.5f);
  const StateSet offset = scaled(L.fx.s0, 0.1f, AdapterVariant::state_offset);
  const std::vector<GenerationRequest> all = {{L.prompt(0, L.fx.prompt_lens[0]), &L.fx.s0, 0},
                                              {L.prompt(1, 7), &offset, 1},
                                              {L.prompt(1, 1), &half, 2},
                                              {L.prompt(0, 12), nullptr, 3}};
  for (double temperature : {0.0, 0.9}) {
    GenerationOptions go;
    go.max_new_tokens = 12;
    go.keep_logits = true;
    go.sampling.temperature = temperature;
    go.sampling.top_p = 0.9;
    go.sampling.seed = 11;
    const std::vector<Generation> together = generate(L.model, all, go);
    go.batch = 1;
    const std::vector<Generation> alone = generate(L.model, all, go);
    go.batch = 3;
    const std::vector<Generation> reversed_waves = generate(L.model, {all[3], all[2], all[1], all[0]}, go);
    for (size_t i = 0; i < all.size(); ++i) {
      EXPECT_EQ(together[i].tokens, alone[i].tokens) << "request " << i << " T=" << temperature;
      EXPECT_EQ(together[i].logits, alone[i].logits) << "request " << i << " T=" << temperature;
      EXPECT_EQ(together[i].tokens, reversed_waves[3 - i].tokens) << "request " << i << " T=" << temperature;
      EXPECT_EQ(together[i].logits, reversed_waves[3 - i].logits) << "request " << i << " T=" << temperature;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, EveryFixture, ::testing::ValuesIn(test::fixture_model_names()),
                         [](const auto& info) { return test::fixture_test_name(info.param); });

TEST(Sampling, ReproducibleUnderSeedAndDifferentAcrossSeeds) {
  const Loaded L("qwen35-text");
  GenerationOptions go;
  go.max_new_tokens = 16;
  go.sampling.temperature = 1.5;
  go.sampling.seed = 42;
  const std::vector<GenerationRequest> reqs = {{L.prompt(0, 20), nullptr, 0}};
  const auto a = generate(L.model, reqs, go), b = generate(L.model, reqs, go);
  EXPECT_EQ(a[0].tokens, b[0].tokens);
  go.sampling.seed = 43;
  EXPECT_NE(generate(L.model, reqs, go)[0].tokens, a[0].tokens);
}

TEST(Sampling, TopKOneAndTinyTopPAreGreedy) {
  const Loaded L("falcon-h1");
  const std::vector<GenerationRequest> reqs = {{L.prompt(0, 20), &L.fx.s0, 0}};
  GenerationOptions greedy;
  greedy.max_new_tokens = 10;
  const auto want = generate(L.model, reqs, greedy)[0].tokens;
  GenerationOptions k1 = greedy;
  k1.sampling.temperature = 2.0;
  k1.sampling.top_k = 1;
  EXPECT_EQ(generate(L.model, reqs, k1)[0].tokens, want);
  GenerationOptions p = greedy;
  p.sampling.temperature = 2.0;
  p.sampling.top_p = 1e-9;
  EXPECT_EQ(generate(L.model, reqs, p)[0].tokens, want);
}

TEST(Generate, StopsOnEosWithoutEmittingIt) {
  const Loaded L("qwen35-text");
  GenerationOptions go;
  go.max_new_tokens = 10;
  const auto free_run = generate(L.model, {{L.prompt(0, 20), nullptr, 0}}, go)[0];
  go.eos_ids = {free_run.tokens[3]};
  const auto stopped = generate(L.model, {{L.prompt(0, 20), nullptr, 0}}, go)[0];
  EXPECT_EQ(stopped.finish, FinishReason::eos);
  const auto first = std::find(free_run.tokens.begin(), free_run.tokens.end(), free_run.tokens[3]);
  EXPECT_EQ(stopped.tokens, std::vector<int64_t>(free_run.tokens.begin(), first));
}

TEST(Generate, CallbackStopsASequence) {
  const Loaded L("falcon-h1-plain");
  GenerationOptions go;
  go.max_new_tokens = 10;
  size_t calls = 0;
  const auto g = generate(L.model, {{L.prompt(0, 5), nullptr, 0}}, go, [&](size_t, int64_t) { return ++calls == 4; });
  EXPECT_EQ(g[0].tokens.size(), 4u);
  EXPECT_EQ(g[0].finish, FinishReason::stop);
}

TEST(Generate, StopsAtThePositionLimit) {
  const Loaded L("qwen35-text");
  ASSERT_GT(L.model.max_positions, 0);
  GenerationOptions go;
  go.max_new_tokens = 10;
  const std::vector<int64_t> prompt(static_cast<size_t>(L.model.max_positions - 3), 7);
  const Generation g = generate(L.model, {{prompt, nullptr, 0}}, go)[0];
  // Positions max-3 .. max-1 take three fed tokens; the fourth is sampled but never fed.
  EXPECT_EQ(g.tokens.size(), 4u);
  EXPECT_EQ(g.finish, FinishReason::length);
}

TEST(Generate, BadInputIsOneClearError) {
  const Loaded L("qwen35-text");
  GenerationOptions go;
  auto run = [&](std::vector<int64_t> prompt, int64_t max_new) {
    return error_of([&] {
      GenerationOptions o = go;
      o.max_new_tokens = max_new;
      generate(L.model, {{prompt, nullptr, 0}}, o);
    });
  };
  EXPECT_NE(run({}, 4).find("prompt 0 is empty"), std::string::npos);
  EXPECT_NE(run({1, L.model.vocab}, 4).find("outside the vocabulary"), std::string::npos);
  EXPECT_NE(run({1, -1}, 4).find("outside the vocabulary"), std::string::npos);
  EXPECT_NE(run({1, 2}, 0).find("max_new_tokens must be at least 1"), std::string::npos);
  EXPECT_NE(run({1, 2}, -5).find("max_new_tokens must be at least 1"), std::string::npos);
  ASSERT_GT(L.model.max_positions, 0);
  EXPECT_NE(run(std::vector<int64_t>(static_cast<size_t>(L.model.max_positions + 1), 1), 4).find("position limit"),
            std::string::npos);
}

}  // namespace
