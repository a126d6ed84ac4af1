// The random checkpoints that benchmarks write: they load as their family, with the shape asked
// for, give finite logits, and the same seed writes the same bytes.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <tuple>

#include "io/checkpoint.h"
#include "model/arch/random_falcon_h1.h"
#include "model/arch/random_mamba2_hybrid.h"
#include "model/arch/random_qwen35.h"
#include "model/arch/registry.h"
#include "model/forward.h"
#include "support/small_models.h"
#include "support/test_support.h"

using namespace s0;

namespace {

// The logits of `ids` are finite and, the weights being random, not all the same.
void expect_finite_varied_logits(const HybridModel& m, const std::vector<int64_t>& ids) {
  ForwardOptions opt;
  opt.all_logits = true;
  const Tensor logits = forward(m, PackedBatch::from_sequences({ids}), opt).logits;
  ASSERT_EQ(logits.shape(), (Shape{static_cast<int64_t>(ids.size()), m.vocab}));
  double spread = 0;
  for (int64_t i = 0; i < logits.numel(); ++i) {
    ASSERT_TRUE(std::isfinite(logits.f32()[i])) << i;
    spread = std::max(spread, std::abs(static_cast<double>(logits.f32()[i] - logits.f32()[0])));
  }
  EXPECT_GT(spread, 1e-3);
}

// Writing again with the same seed gives the same bytes.
void expect_same_bytes_again(const test::TempDir& dir, const std::function<void(const std::filesystem::path&)>& write) {
  test::TempDir again;
  write(again.path());
  EXPECT_EQ(test::read_text(dir / "model.safetensors"), test::read_text(again / "model.safetensors"));
}

}  // namespace


TEST(RandomCheckpoint, FalconH1LoadsWithItsShapeAndFiniteLogits) {
  test::TempDir dir;
  FalconH1Dims d = test::small_falcon_h1();
  d.init_std = 0.2f;
  write_random_falcon_h1(dir.path(), d);
  const HybridModel m = load_model(dir.path());
  EXPECT_EQ(m.family, "falcon_h1");
  EXPECT_EQ(m.hidden, d.hidden);
  EXPECT_EQ(m.vocab, d.vocab);
  ASSERT_EQ(m.recurrent.size(), 3u);
  EXPECT_EQ(m.recurrent[0].arch, "mamba2");
  EXPECT_EQ(m.recurrent[0].state_shape, (Shape{d.mamba_heads, d.mamba_head_dim, d.d_state}));
  expect_finite_varied_logits(m, {1, 5, 9, 100, 0, 3});

  expect_same_bytes_again(dir, [&](const std::filesystem::path& p) { write_random_falcon_h1(p, d); });
}

TEST(RandomCheckpoint, Qwen35MoeLoadsWithItsExperts) {
  test::TempDir dir;
  Qwen35Dims d = test::small_qwen35();
  d.experts = 6;
  d.experts_per_token = 2;
  d.moe_intermediate = 8;
  d.shared_intermediate = 12;
  write_random_qwen35(dir.path(), d);
  const HybridModel m = load_model(dir.path());
  EXPECT_EQ(m.family, "qwen3_5_moe_text");
  ASSERT_TRUE(m.blocks.at(0).moe.has_value());
  EXPECT_EQ(m.blocks[0].moe->experts.size(), 6u);
  EXPECT_EQ(m.blocks[0].moe->top_k, 2);
  EXPECT_EQ(m.blocks[0].down.in, d.shared_intermediate);
  ForwardOptions opt;
  opt.all_logits = true;
  const Tensor logits = forward(m, PackedBatch::from_sequences({{1, 5, 9, 296, 0, 3}}), opt).logits;
  for (int64_t i = 0; i < logits.numel(); ++i) ASSERT_TRUE(std::isfinite(logits.f32()[i])) << i;
}

// The Mamba-2 hybrids' writer: each family loads with the layers its pattern asks for, every tensor
// written is one the loader reads, the logits are finite and differ, and a seed writes the same bytes.
TEST(RandomCheckpoint, Mamba2HybridsLoadAsTheirFamilies) {
  const std::vector<std::tuple<Mamba2Hybrid, std::string, std::vector<std::string>>> cases = {
      {Mamba2Hybrid::Bamba, "bamba", {"mamba2", "full_attention", "mamba2"}},
      {Mamba2Hybrid::Granite, "granitemoehybrid", {"mamba2", "full_attention", "mamba2"}},
      {Mamba2Hybrid::NemotronH, "nemotron_h", {"mamba2", "full_attention", "mlp", "moe", "mamba2"}}};
  for (const auto& [family, name, kinds] : cases) {
    SCOPED_TRACE(name);
    test::TempDir dir;
    const Mamba2HybridDims d = test::small_mamba2_hybrid(family);
    write_random_mamba2_hybrid(dir.path(), d);
    const HybridModel m = load_model(dir.path());
    EXPECT_EQ(m.family, name);
    EXPECT_EQ(m.layer_kinds, kinds);
    ASSERT_EQ(m.recurrent.size(), 2u);
    EXPECT_EQ(m.recurrent[1].layer, static_cast<int>(kinds.size()) - 1);
    EXPECT_EQ(m.recurrent[0].state_shape, (Shape{d.mamba_heads, d.mamba_head_dim, d.d_state}));
    int64_t written = 0;
    const Checkpoint ck = Checkpoint::open(dir.path());
    for (const std::string& t : ck.names()) written += numel_of(ck.shape(t));
    EXPECT_EQ(m.parameter_count, written) << "every tensor written is read";
    if (family != Mamba2Hybrid::Bamba) {
      const Block& moe = m.blocks.at(family == Mamba2Hybrid::NemotronH ? 3 : 0);
      ASSERT_TRUE(moe.moe.has_value());
      EXPECT_EQ(static_cast<int64_t>(moe.moe->experts.size()), d.experts);
      EXPECT_EQ(moe.moe->correction_bias.empty(), family == Mamba2Hybrid::Granite);
    }
    expect_finite_varied_logits(m, {1, 5, 9, 96, 0, 3});
    expect_same_bytes_again(dir, [&](const std::filesystem::path& p) { write_random_mamba2_hybrid(p, d); });
  }
}

TEST(RandomCheckpoint, Mamba2HybridRefusesAPatternItsFamilyCannotHold) {
  test::TempDir dir;
  Mamba2HybridDims d = test::small_mamba2_hybrid(Mamba2Hybrid::Bamba);
  d.pattern = "M-M";
  EXPECT_EQ(test::error_of([&] { write_random_mamba2_hybrid(dir.path(), d); }),
            "random bamba checkpoint: pattern \"M-M\" must be made of M*");
  d.mamba_head_dim = 10;
  d.pattern = "MM";
  EXPECT_EQ(test::error_of([&] { write_random_mamba2_hybrid(dir.path(), d); }),
            "random bamba checkpoint: mamba_heads * mamba_head_dim 40 must be a multiple of hidden 32");
}
