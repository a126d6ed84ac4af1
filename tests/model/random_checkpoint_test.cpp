// The random checkpoints that benchmarks write: they load as their family, with the shape asked
// for, give finite logits, and the same seed writes the same bytes.
#include <gtest/gtest.h>

#include <cmath>

#include "model/arch/random_falcon_h1.h"
#include "model/arch/random_qwen35.h"
#include "model/arch/registry.h"
#include "model/forward.h"
#include "support/small_models.h"
#include "support/test_support.h"

using namespace s0;


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
  ForwardOptions opt;
  opt.all_logits = true;
  const Tensor logits = forward(m, PackedBatch::from_sequences({{1, 5, 9, 100, 0, 3}}), opt).logits;
  ASSERT_EQ(logits.shape(), (Shape{6, d.vocab}));
  double spread = 0;
  for (int64_t i = 0; i < logits.numel(); ++i) {
    ASSERT_TRUE(std::isfinite(logits.f32()[i])) << i;
    spread = std::max(spread, std::abs(static_cast<double>(logits.f32()[i] - logits.f32()[0])));
  }
  EXPECT_GT(spread, 1e-3);  // random weights: the logits are not all the same

  test::TempDir again;
  write_random_falcon_h1(again.path(), d);
  EXPECT_EQ(test::read_text(dir / "model.safetensors"), test::read_text(again / "model.safetensors"));
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
