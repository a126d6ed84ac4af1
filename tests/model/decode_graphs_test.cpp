// Decode steps whose recurrent blocks replay CUDA graphs (model/decode_graphs.h) give the logits of
// steps whose every kernel the host queued, bit for bit: on Qwen3.5 (GatedDeltaNet), Falcon-H1
// (Mamba-2 beside attention in every block: only feed-forwards replay) and Nemotron-H (Mamba-2,
// MLP-only and routed-expert layers), with float32 and bf16 matrices, for a batch whose sequences
// carry no adapter, S0 or a state offset, while the batch changes: sequences leave and one joins
// (its prefill step runs without graphs), and each new batch is recorded again. Skipped without a
// GPU.
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

void expect_replays_match(const std::string& name, const std::function<void(const std::filesystem::path&)>& write) {
  test::TempDir dir;
  write(dir.path());
  const HybridModel cpu = load_model(dir.path());
  for (const DType matrices : {DType::F32, DType::BF16}) {
    const std::string what = name + (matrices == DType::BF16 ? " bf16" : " f32");
    const HybridModel gpu = model_on(cpu, Device::cuda(0), matrices);
    const StateSet s0 = test::random_states(gpu, AdapterVariant::s0, 0.3f, 1);
    const StateSet offset = test::random_states(gpu, AdapterVariant::state_offset, 0.03f, 2);
    const std::vector<const StateSet*> adapters{nullptr, &s0, &offset, &s0, &offset};
    const test::Decoded eager = test::decode(gpu, adapters, {});
    const test::Decoded replayed = test::decode(gpu, adapters, {true, {}, false});
    ASSERT_EQ(eager.logits.size(), replayed.logits.size());
    for (size_t k = 0; k < eager.logits.size(); ++k) EXPECT_EQ(replayed.logits[k], eager.logits[k]) << what << " step " << k;
    EXPECT_EQ(eager.recordings, std::vector<int64_t>({0, 0, 0})) << what;
    // Every phase records: the first batch from its second decode step, each later one anew.
    EXPECT_GT(replayed.recordings[0], 0) << what;
    EXPECT_GT(replayed.recordings[1], replayed.recordings[0]) << what;
    EXPECT_GT(replayed.recordings[2], replayed.recordings[1]) << what;
  }
}

}  // namespace

TEST(DecodeGraphsOnTheGpu, QwenReplaysGiveTheQueuedStepsLogits) {
  S0_REQUIRE_GPU();
  expect_replays_match("qwen3.5", [](const std::filesystem::path& d) { write_random_qwen35(d, test::small_qwen35(2)); });
}

TEST(DecodeGraphsOnTheGpu, FalconReplaysGiveTheQueuedStepsLogits) {
  S0_REQUIRE_GPU();
  expect_replays_match("falcon-h1",
                       [](const std::filesystem::path& d) { write_random_falcon_h1(d, test::small_falcon_h1(2)); });
}

TEST(DecodeGraphsOnTheGpu, NemotronReplaysGiveTheQueuedStepsLogits) {
  S0_REQUIRE_GPU();
  expect_replays_match("nemotron-h", [](const std::filesystem::path& d) {
    write_random_mamba2_hybrid(d, test::small_mamba2_hybrid(Mamba2Hybrid::NemotronH, 2));
  });
}
