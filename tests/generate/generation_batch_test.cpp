// The default generation batch: half the available memory over a sequence's bytes, within [1, 256];
// 16 on the CPU whatever its memory; on a GPU the cap for a small model and one sequence for a
// context no memory holds. Whether memory holds a batch at its full context (which lets its
// sequences reserve their attention caches): by the same rule, never on the CPU.
#include <gtest/gtest.h>

#include "generate/generation_batch.h"
#include "generate/loaded_fixture.h"
#include "model/model_on_device.h"
#include "ops/gpu_compare.h"
#include "support/test_support.h"

using namespace s0;

namespace {

constexpr size_t kGiB = size_t(1) << 30;

TEST(GenerationBatch, HalfTheMemoryOverASequencesBytes) {
  EXPECT_EQ(batch_for_memory(10 * kGiB, 100 << 20), 51);         // 5 GiB / 100 MiB = 51.2
  EXPECT_EQ(batch_for_memory(70 * kGiB, 141 << 20), 254);        // an 80 GB card after a 4B model
  EXPECT_EQ(batch_for_memory(130 * kGiB, 141 << 20), 256);       // capped
  EXPECT_EQ(batch_for_memory(kGiB, int64_t(1) << 40), 1);        // not even one: one still runs
  EXPECT_EQ(batch_for_memory(0, 1), 1);
  EXPECT_EQ(batch_for_memory(size_t(2) * 1000, 1000), 1);        // exactly one fits in half
  EXPECT_EQ(batch_for_memory(size_t(2) * 1999, 1000), 1);
  EXPECT_EQ(batch_for_memory(size_t(2) * 2000, 1000), 2);
}

TEST(GenerationBatch, MemoryHoldsWhatHalfOfItFits) {
  EXPECT_TRUE(memory_holds(10 * kGiB, 100 << 20, 51));  // 5 GiB / 100 MiB = 51.2
  EXPECT_FALSE(memory_holds(10 * kGiB, 100 << 20, 52));
  EXPECT_TRUE(memory_holds(size_t(2) * 2000, 1000, 2));
  EXPECT_FALSE(memory_holds(size_t(2) * 1999, 1000, 2));
  EXPECT_FALSE(memory_holds(kGiB, int64_t(1) << 40, 1));  // the default batch's one that does not fit
}

TEST(GenerationBatch, TheCpuDecodesSixteen) {
  const test::LoadedFixture L(test::fixture_model_names().front());
  EXPECT_EQ(default_generation_batch(L.model, 100), kCpuGenerationBatch);
  EXPECT_EQ(default_generation_batch(L.model, int64_t(1) << 40), kCpuGenerationBatch);
  EXPECT_FALSE(batch_holds_context(L.model, 100, {}, 1));  // not sized by memory: caches double
}

TEST(GenerationBatch, GpuTakesTheCapForASmallModelAndOneForAContextNoMemoryHolds) {
  S0_REQUIRE_GPU();
  const test::LoadedFixture L(test::fixture_model_names().front());
  const HybridModel gpu = model_on(L.model, Device::cuda(0), DType::F32);
  EXPECT_EQ(default_generation_batch(gpu, 1000), kMaxDefaultGenerationBatch);
  EXPECT_TRUE(batch_holds_context(gpu, 1000, {}, kMaxDefaultGenerationBatch));
  EXPECT_EQ(default_generation_batch(gpu, int64_t(1) << 40), 1);
  EXPECT_FALSE(batch_holds_context(gpu, int64_t(1) << 40, {}, 1));
}

}  // namespace
