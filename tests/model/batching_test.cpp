// Results never depend on what else is in the batch: a sequence packed with others (with or
// without an adapter, S0 or state offset) gets bit for bit the same logits and final states as alone.
#include <gtest/gtest.h>

#include <random>

#include "check/reference_check.h"
#include "check/reference_fixture.h"
#include "model/arch/registry.h"
#include "model/forward.h"
#include "model/model_on_device.h"
#include "support/test_support.h"

using namespace s0;

namespace {

// `matrices`: the weights' mode (bf16: the CPU's bf16 products; unset: the fixture's float32).
void expect_batch_invariant(const std::string& fixture, std::optional<DType> matrices = std::nullopt) {
  HybridModel model = load_model_on(test::fixture_model(fixture), Device::cpu(), matrices);
  ReferenceFixture fx = ReferenceFixture::open(test::fixture_model(fixture), model);
  std::mt19937 rng(7);
  std::uniform_int_distribution<int64_t> tok(0, model.vocab - 1);
  std::vector<std::vector<int64_t>> seqs = fx.sequences;
  for (int64_t len : {1, 5, 17}) {
    std::vector<int64_t> s(static_cast<size_t>(len));
    for (auto& t : s) t = tok(rng);
    seqs.push_back(s);
  }
  // Sequences without an adapter, with S0, and with a state offset (the same tensors) side by side.
  StateSet offset = fx.s0;
  offset.variant = AdapterVariant::state_offset;
  std::vector<const StateSet*> init;
  for (size_t i = 0; i < seqs.size(); ++i) init.push_back(i % 3 == 0 ? nullptr : i % 3 == 1 ? &fx.s0 : &offset);

  ForwardOptions opt;
  opt.all_logits = true;
  opt.keep_final_states = true;
  ForwardOutput packed = forward(model, PackedBatch::from_sequences(seqs, init), opt);
  PackedBatch pb = PackedBatch::from_sequences(seqs, init);
  for (size_t i = 0; i < seqs.size(); ++i) {
    ForwardOutput alone = forward(model, PackedBatch::from_sequences({seqs[i]}, {init[i]}), opt);
    const int64_t n = static_cast<int64_t>(seqs[i].size()) * model.vocab;
    EXPECT_LE(max_relative_error(packed.logits.f32() + pb.begin(static_cast<int64_t>(i)) * model.vocab,
                                 alone.logits.f32(), n),
              0.0)
        << fixture << " sequence " << i;
    for (size_t slot = 0; slot < model.recurrent.size(); ++slot) {
      const Tensor& a = packed.final_states[slot][i];
      const Tensor& b = alone.final_states[slot][0];
      EXPECT_EQ(max_relative_error(a.f32(), b.f32(), a.numel()), 0.0) << fixture << " state " << slot;
    }
  }
}

}  // namespace

TEST(Batching, QwenSequenceIndependentOfBatch) { expect_batch_invariant("qwen35-text"); }
TEST(Batching, FalconSequenceIndependentOfBatch) { expect_batch_invariant("falcon-h1"); }
// MoE: each expert's rows are grouped by sequence, so routing other sequences' tokens to the same
// expert changes nothing (stacked and per-expert weights, shared expert gate, top-k 2 and 3).
TEST(Batching, QwenMoeSequenceIndependentOfBatch) {
  expect_batch_invariant("qwen35-moe-text");
  expect_batch_invariant("qwen35-moe-vl-tied");
}
TEST(Batching, Qwen3NextSequenceIndependentOfBatch) { expect_batch_invariant("qwen3-next"); }
TEST(Batching, MambaHybridsSequenceIndependentOfBatch) {
  for (const char* f : {"bamba", "granite-h-moe-tied", "nemotron-h", "nemotron-h-moe"}) expect_batch_invariant(f);
}

// The bf16 products: a group's rows are one oneDNN call (a tile grid of their own), one-row groups
// the row-wise kernel; MoE experts in bf16 too.
TEST(Batching, Bf16ProductsSequenceIndependentOfBatch) {
  for (const char* f : {"qwen35-text", "falcon-h1", "qwen35-moe-text"}) expect_batch_invariant(f, DType::BF16);
}

TEST(Batching, ZeroStateEqualsNoState) {
  HybridModel model = load_model(test::fixture_model("qwen35-vl-tied"));
  StateSet zeros;
  for (const auto& r : model.recurrent) zeros.states.push_back(Tensor::zeros(r.state_shape));
  std::vector<int64_t> seq = {1, 2, 3, 4, 5, 6, 7};
  ForwardOptions opt;
  opt.all_logits = true;
  ForwardOutput a = forward(model, PackedBatch::from_sequences({seq}, {nullptr}), opt);
  ForwardOutput b = forward(model, PackedBatch::from_sequences({seq}, {&zeros}), opt);
  EXPECT_EQ(max_relative_error(a.logits.f32(), b.logits.f32(), a.logits.numel()), 0.0);
}
