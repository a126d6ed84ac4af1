// bf16 caches between calls: recurrent states and attention keys and values.
//
// Recurrent states kept in bf16 between calls (CacheDtypes::state, ops/carried_state.h) are
// float32 states rounded to bf16 once at the end of every call: decoding with bf16 caches gives, bit
// for bit, the logits of float32 caches whose states are rounded after every step. On the CPU, and
// on a GPU, whose decode steps read and write the bf16 states in the step kernels (with CUDA graphs
// or without) while prefills and steps that a prompt joins run over float32 copies. For Qwen3.5
// (GatedDeltaNet), Falcon-H1 and Nemotron-H (Mamba-2), with sequences that carry no adapter, S0 or
// a state offset while the batch changes (tests/model/decode_steps.h). The caches then hold bf16
// states, and the rounding is felt: the logits are not float32 decoding's.
//
// Keys and values cached in bf16 as well (CacheDtypes::kv; their rounding is checked op by op in
// tests/ops/kv_cache_dtype_test.cpp): the attention caches hold bf16 rows, the logits move again, and
// on a GPU steps replaying CUDA graphs give the queued steps' logits, bit for bit.
#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "model/arch/registry.h"
#include "model/decode_steps.h"
#include "model/model_on_device.h"
#include "ops/gpu_compare.h"
#include "support/small_models.h"
#include "support/test_support.h"

using namespace s0;

namespace {

// On a GPU, the same run replaying CUDA graphs of the recurrent blocks gives `queued`'s logits (its
// steps queued kernel by kernel), bit for bit, and records graphs; nothing on the CPU.
void expect_replays_equal_queued_steps(const HybridModel& model, const std::vector<const StateSet*>& adapters,
                                       CacheDtypes dtypes, const test::Decoded& queued, const std::string& what) {
  if (model.device().is_cpu()) return;
  const test::Decoded replayed = test::decode(model, adapters, {true, dtypes, false});
  ASSERT_EQ(replayed.logits.size(), queued.logits.size()) << what;
  for (size_t k = 0; k < queued.logits.size(); ++k)
    EXPECT_EQ(replayed.logits[k], queued.logits[k]) << what << " graphs, step " << k;
  EXPECT_GT(replayed.recordings.back(), 0) << what;
}

void expect_rounded_once_per_call(const HybridModel& model, const std::string& what) {
  const StateSet s0 = test::random_states(model, AdapterVariant::s0, 0.3f, 1);
  const StateSet offset = test::random_states(model, AdapterVariant::state_offset, 0.03f, 2);
  const std::vector<const StateSet*> adapters{nullptr, &s0, &offset, &s0, &offset};
  const test::Decoded bf16 = test::decode(model, adapters, {false, test::kBf16States, false});
  const test::Decoded rounded = test::decode(model, adapters, {false, {}, true});
  const test::Decoded f32 = test::decode(model, adapters, {});
  ASSERT_EQ(bf16.logits.size(), rounded.logits.size());
  for (size_t k = 0; k < bf16.logits.size(); ++k) EXPECT_EQ(bf16.logits[k], rounded.logits[k]) << what << " step " << k;
  ASSERT_FALSE(bf16.state_dtypes.empty()) << what;
  for (DType d : bf16.state_dtypes) EXPECT_EQ(d, DType::BF16) << what;
  for (DType d : f32.state_dtypes) EXPECT_EQ(d, DType::F32) << what;
  EXPECT_NE(bf16.logits, f32.logits) << what << ": bf16 states changed no logit";
  expect_replays_equal_queued_steps(model, adapters, test::kBf16States, bf16, what);
}

using Writer = std::function<void(const std::filesystem::path&)>;

const std::vector<std::pair<std::string, Writer>>& families() {
  static const std::vector<std::pair<std::string, Writer>> all{
      {"qwen3.5", [](const std::filesystem::path& d) { write_random_qwen35(d, test::small_qwen35(2)); }},
      {"falcon-h1", [](const std::filesystem::path& d) { write_random_falcon_h1(d, test::small_falcon_h1(2)); }},
      {"nemotron-h",
       [](const std::filesystem::path& d) {
         write_random_mamba2_hybrid(d, test::small_mamba2_hybrid(Mamba2Hybrid::NemotronH, 2));
       }},
  };
  return all;
}

void expect_bf16_keys_and_values_cached(const HybridModel& model, const std::string& what) {
  const StateSet s0 = test::random_states(model, AdapterVariant::s0, 0.3f, 1);
  const std::vector<const StateSet*> adapters{nullptr, &s0, nullptr, &s0, nullptr};
  const test::Decoded bf16 = test::decode(model, adapters, {false, test::kBf16Caches, false});
  const test::Decoded states_only = test::decode(model, adapters, {false, test::kBf16States, false});
  ASSERT_FALSE(bf16.kv_dtypes.empty()) << what;
  for (DType d : bf16.kv_dtypes) EXPECT_EQ(d, DType::BF16) << what;
  for (DType d : states_only.kv_dtypes) EXPECT_EQ(d, DType::F32) << what;
  EXPECT_NE(bf16.logits, states_only.logits) << what << ": bf16 keys and values changed no logit";
  expect_replays_equal_queued_steps(model, adapters, test::kBf16Caches, bf16, what);
}

using Check = std::function<void(const HybridModel&, const std::string&)>;

// check(model, name) for a small random checkpoint of every family, on the CPU.
void on_the_cpu(const Check& check) {
  for (const auto& [name, write] : families()) {
    test::TempDir dir;
    write(dir.path());
    check(load_model(dir.path()), name);
  }
}

// The same on the GPU, with float32 and with bf16 matrices.
void on_the_gpu(const Check& check) {
  for (const auto& [name, write] : families()) {
    test::TempDir dir;
    write(dir.path());
    const HybridModel cpu = load_model(dir.path());
    for (const DType matrices : {DType::F32, DType::BF16})
      check(model_on(cpu, Device::cuda(0), matrices), name + (matrices == DType::BF16 ? " bf16" : " f32"));
  }
}

}  // namespace

TEST(Bf16States, EachCallRoundsTheStatesOnceOnTheCpu) { on_the_cpu(expect_rounded_once_per_call); }

TEST(Bf16StatesOnTheGpu, EachCallRoundsTheStatesOnceWhereverTheStepRuns) {
  S0_REQUIRE_GPU();
  on_the_gpu(expect_rounded_once_per_call);
}

TEST(Bf16KeysValues, CachedInBf16OnTheCpu) { on_the_cpu(expect_bf16_keys_and_values_cached); }

TEST(Bf16KeysValuesOnTheGpu, CachedInBf16WithGraphsOrWithout) {
  S0_REQUIRE_GPU();
  on_the_gpu(expect_bf16_keys_and_values_cached);
}
