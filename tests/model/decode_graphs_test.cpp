// Decode steps whose recurrent blocks replay CUDA graphs (model/decode_graphs.h) give the logits of
// steps whose every kernel the host queued, bit for bit: on Qwen3.5 (GatedDeltaNet), Falcon-H1
// (Mamba-2 beside attention in every block: only feed-forwards replay) and Nemotron-H (Mamba-2,
// MLP-only and routed-expert layers), with float32 and bf16 matrices, for a batch whose sequences
// carry no adapter, S0 or a state offset, while the batch changes: sequences leave and one joins
// (its prefill step runs without graphs), and each new batch is recorded again. Skipped without a
// GPU.
#include <gtest/gtest.h>

#include <deque>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "model/arch/registry.h"
#include "model/decode_graphs.h"
#include "model/forward.h"
#include "model/model_on_device.h"
#include "ops/gpu_compare.h"
#include "support/small_models.h"
#include "support/test_support.h"

using namespace s0;

namespace {

StateSet random_states(const HybridModel& model, AdapterVariant variant, float scale, uint32_t seed) {
  StateSet set;
  set.variant = variant;
  std::mt19937 rng(seed);
  std::normal_distribution<float> noise(0.0f, scale);
  for (const RecurrentLayer& r : model.recurrent) {
    Tensor t = Tensor::zeros(r.state_shape);
    for (int64_t i = 0; i < t.numel(); ++i) t.f32_mut()[i] = noise(rng);
    set.states.push_back(t.to(model.device()));
  }
  return set;
}

struct Decoded {
  std::vector<std::vector<float>> logits;  // per step, the batch's rows
  std::vector<int64_t> recordings;         // after each phase
};

// Five sequences over 18 steps: four prefill, decode together, two leave, the fifth joins (a step of
// prefill beside decodes), then four decode on. The tokens fed are fixed, so both runs feed the same.
Decoded decode(const HybridModel& model, const std::vector<const StateSet*>& adapters, bool graphs) {
  std::vector<size_t> mixers;
  for (const Block& b : model.blocks) mixers.push_back(b.mixers.size());
  std::deque<SequenceCache> caches;
  for (size_t i = 0; i < adapters.size(); ++i) caches.emplace_back(mixers);
  DecodeGraphs decode_graphs;
  Decoded out;
  auto token = [&](size_t seq, int64_t at) { return (static_cast<int64_t>(seq) * 37 + at * 11 + 5) % model.vocab; };
  auto step = [&](const std::vector<size_t>& active) {
    std::vector<std::vector<int64_t>> inputs;
    std::vector<const StateSet*> initial;
    std::vector<SequenceCache*> cache_ptrs;
    for (size_t s : active) {
      SequenceCache& c = caches[s];
      const int64_t n = c.length == 0 ? 3 + static_cast<int64_t>(s) : 1;  // a prompt, then one token a step
      std::vector<int64_t> in;
      for (int64_t t = 0; t < n; ++t) in.push_back(token(s, c.length + t));
      inputs.push_back(in);
      initial.push_back(adapters[s]);
      cache_ptrs.push_back(&c);
    }
    const PackedBatch batch = PackedBatch::from_sequences(inputs, initial, cache_ptrs);
    ForwardOptions fo;
    if (graphs) fo.graphs = &decode_graphs;
    for (int64_t s = 0; s < batch.n_seqs(); ++s) fo.logit_rows.push_back(batch.begin(s) + batch.length(s) - 1);
    const Tensor logits = forward(model, batch, fo).logits.to(Device::cpu());
    for (size_t i = 0; i < active.size(); ++i) caches[active[i]].length += static_cast<int64_t>(inputs[i].size());
    out.logits.emplace_back(logits.f32(), logits.f32() + logits.numel());
  };
  for (int k = 0; k < 7; ++k) step({0, 1, 2, 3});
  out.recordings.push_back(decode_graphs.recordings());
  for (int k = 0; k < 4; ++k) step({0, 2});
  out.recordings.push_back(decode_graphs.recordings());
  for (int k = 0; k < 7; ++k) step({0, 2, 3, 4});
  out.recordings.push_back(decode_graphs.recordings());
  return out;
}

void expect_replays_match(const std::string& name, const std::function<void(const std::filesystem::path&)>& write) {
  test::TempDir dir;
  write(dir.path());
  const HybridModel cpu = load_model(dir.path());
  for (const DType matrices : {DType::F32, DType::BF16}) {
    const std::string what = name + (matrices == DType::BF16 ? " bf16" : " f32");
    const HybridModel gpu = model_on(cpu, Device::cuda(0), matrices);
    const StateSet s0 = random_states(gpu, AdapterVariant::s0, 0.3f, 1);
    const StateSet offset = random_states(gpu, AdapterVariant::state_offset, 0.03f, 2);
    const std::vector<const StateSet*> adapters{nullptr, &s0, &offset, &s0, &offset};
    const Decoded eager = decode(gpu, adapters, false);
    const Decoded replayed = decode(gpu, adapters, true);
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
