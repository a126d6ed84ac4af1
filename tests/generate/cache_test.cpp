// The layer caches directly: feeding a fixture sequence through the caches in pieces (a prefill,
// then one token at a time) reproduces the reference logits of the whole sequence, and holds what
// sequence_cache_bytes says a sequence holds.
#include <gtest/gtest.h>

#include "check/reference_check.h"
#include "check/reference_fixture.h"
#include "model/arch/registry.h"
#include "model/cache.h"
#include "model/forward.h"
#include "support/test_support.h"

using namespace s0;

namespace {

class Fixture : public ::testing::TestWithParam<std::string> {};

TEST_P(Fixture, PiecewiseCachedForwardMatchesReferenceLogits) {
  const fs::path dir = test::fixture_model(GetParam());
  const HybridModel model = load_model(dir);
  const ReferenceFixture fx = ReferenceFixture::open(dir, model);
  const std::vector<int64_t>& seq = fx.sequences[0];
  const Tensor ref = fx.expected("logits.s0.0");
  const int64_t V = model.vocab, prefill = fx.prompt_lens[0];
  std::vector<size_t> shape;
  for (const Block& b : model.blocks) shape.push_back(b.mixers.size());
  SequenceCache cache(shape);
  double worst = 0;
  for (int64_t at = 0; at < static_cast<int64_t>(seq.size());) {
    const int64_t n = at == 0 ? prefill : 1;
    const PackedBatch batch = PackedBatch::from_sequences(
        {std::vector<int64_t>(seq.begin() + at, seq.begin() + at + n)}, {&fx.s0}, {&cache});
    ForwardOptions fo;
    fo.all_logits = true;
    const ForwardOutput out = forward(model, batch, fo);
    cache.length += n;
    for (int64_t t = 0; t < n; ++t) {
      const double e = max_relative_error(out.logits.f32() + t * V, ref.f32() + (at + t) * V, V);
      if (!(e <= worst)) worst = e;  // NaN-aware: std::max(worst, NaN) would keep worst and pass NaN logits
    }
    at += n;
  }
  EXPECT_LE(worst, 1e-4);
  std::printf("%s: max rel err of cached logits vs reference %.2e\n", GetParam().c_str(), worst);
}

int64_t bytes_of(const Tensor& t) { return t.empty() ? 0 : static_cast<int64_t>(t.nbytes()); }

// What generation sizes its batch by (generate/generation_batch.h): after a prefill and a token at
// a time, the states and conv windows take exactly the context-free part of sequence_cache_bytes,
// and the keys and values at least the context's rows and at most the bound's twice as many.
TEST_P(Fixture, SequenceCacheBytesBoundWhatTheCacheHolds) {
  const fs::path dir = test::fixture_model(GetParam());
  const HybridModel model = load_model(dir);
  const ReferenceFixture fx = ReferenceFixture::open(dir, model);
  const std::vector<int64_t>& seq = fx.sequences[0];
  std::vector<size_t> shape;
  for (const Block& b : model.blocks) shape.push_back(b.mixers.size());
  SequenceCache cache(shape);
  for (int64_t at = 0; at < static_cast<int64_t>(seq.size());) {
    const int64_t n = at == 0 ? fx.prompt_lens[0] : 1;
    forward(model, PackedBatch::from_sequences({std::vector<int64_t>(seq.begin() + at, seq.begin() + at + n)},
                                               {&fx.s0}, {&cache}),
            ForwardOptions{});
    cache.length += n;
    at += n;
  }
  int64_t recurrent = 0, keys_values = 0;
  for (const std::vector<MixerCache>& block : cache.blocks)
    for (const MixerCache& m : block) {
      recurrent += bytes_of(m.state) + bytes_of(m.conv_window);
      keys_values += bytes_of(m.kv.k) + bytes_of(m.kv.v);
    }
  const int64_t context = static_cast<int64_t>(seq.size());
  const int64_t kv_bound = sequence_cache_bytes(model, context) - sequence_cache_bytes(model, 0);
  ASSERT_GT(recurrent, 0);
  EXPECT_EQ(recurrent, sequence_cache_bytes(model, 0));
  EXPECT_LE(keys_values, kv_bound);
  EXPECT_GE(2 * keys_values, kv_bound);
}

INSTANTIATE_TEST_SUITE_P(Fixtures, Fixture, ::testing::ValuesIn(test::fixture_model_names()), [](const auto& info) {
  std::string n = info.param;
  for (char& c : n)
    if (c == '-') c = '_';
  return n;
});

}  // namespace
