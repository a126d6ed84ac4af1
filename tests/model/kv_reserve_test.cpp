// Attention caches that reserve a sequence's whole length (SequenceCache::reserve_keys, what the
// scheduler asks when the batch was sized for that length) take one buffer and never grow again,
// and decode the same logits, bit for bit, as caches that grow by doubling; a reservation shorter
// than the sequence falls back to doubling. Float32 and bf16 keys and values (whose calls other than
// a GPU decode step run over float32 copies), on the CPU and on a GPU, over the decode run of
// tests/model/decode_steps.h (sequences of 3-7 prompt tokens reaching at most 22 tokens).
#include <gtest/gtest.h>

#include <string>

#include "model/decode_steps.h"
#include "model/model_on_device.h"
#include "ops/gpu_compare.h"
#include "support/small_models.h"
#include "support/test_support.h"

using namespace s0;

namespace {

void expect_reserved_caches_never_grow(const HybridModel& model, const std::string& what) {
  const StateSet s0 = test::random_states(model, AdapterVariant::s0, 0.3f, 1);
  const std::vector<const StateSet*> adapters{nullptr, &s0, nullptr, &s0, nullptr};
  for (const CacheDtypes dtypes : {CacheDtypes{}, test::kBf16Caches}) {
    const std::string name = what + (dtypes.kv == DType::BF16 ? ", bf16 keys and values" : ", float32");
    test::DecodeRun run{false, dtypes};
    const test::Decoded doubling = test::decode(model, adapters, run);
    run.reserve_keys = 22;
    const test::Decoded reserved = test::decode(model, adapters, run);
    run.reserve_keys = 8;
    const test::Decoded short_reserve = test::decode(model, adapters, run);
    EXPECT_GT(doubling.kv_growths, 0) << name << ": the run never grew a cache, so it tells nothing";
    EXPECT_EQ(reserved.kv_growths, 0) << name;
    EXPECT_GT(short_reserve.kv_growths, 0) << name;
    ASSERT_EQ(reserved.logits.size(), doubling.logits.size()) << name;
    for (size_t k = 0; k < doubling.logits.size(); ++k) {
      EXPECT_EQ(reserved.logits[k], doubling.logits[k]) << name << ", step " << k;
      EXPECT_EQ(short_reserve.logits[k], doubling.logits[k]) << name << ", step " << k;
    }
  }
}

HybridModel small_qwen35_model(const test::TempDir& dir) {
  write_random_qwen35(dir.path(), test::small_qwen35(2));
  return load_model(dir.path());
}

}  // namespace

TEST(ReservedKeys, NeverGrowAndDecodeAsDoublingCachesOnTheCpu) {
  test::TempDir dir;
  expect_reserved_caches_never_grow(small_qwen35_model(dir), "cpu");
}

TEST(ReservedKeysOnTheGpu, NeverGrowAndDecodeAsDoublingCaches) {
  S0_REQUIRE_GPU();
  test::TempDir dir;
  expect_reserved_caches_never_grow(model_on(small_qwen35_model(dir), Device::cuda(0), DType::BF16), "gpu");
}

TEST(ReservedKeys, ACopyKeepsTheReservation) {
  SequenceCache cache({1, 2});
  cache.reserve_keys(640);
  const SequenceCache copy = cache.copy();
  for (const std::vector<MixerCache>& block : copy.blocks)
    for (const MixerCache& m : block) EXPECT_EQ(m.kv.reserve, 640);
}
