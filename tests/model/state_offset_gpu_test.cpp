// A state-offset adapter on a float32 GPU model against the same model on the CPU, on one fixture
// of each recurrent family (GatedDeltaNet: qwen35-text; Mamba-2: falcon-h1): in one batch mixing
// sequences with an offset, with S0 and with no adapter, the logits and the gradient of the
// completion loss to every sequence's adapter (the offsets' and the states') are the CPU's within
// the fixtures' tolerance (1e-4, max |gpu - cpu| over max |cpu|; printed); on the GPU the whole
// tape's gradients are the recompute tape's bit for bit. A whole tape on the GPU keeps each
// GatedDeltaNet layer's chunk states for its backward, a block re-run by a recompute tape none.
// Skipped without a GPU.
#include <gtest/gtest.h>

#include <iostream>
#include <utility>
#include <variant>

#include "check/reference_fixture.h"
#include "model/arch/registry.h"
#include "model/forward.h"
#include "model/loss_head.h"
#include "model/model_on_device.h"
#include "ops/gpu_compare.h"
#include "support/test_support.h"

using namespace s0;

namespace {

StateSet on_device(const StateSet& s, Device d) {
  StateSet out;
  out.variant = s.variant;
  for (const Tensor& t : s.states) out.states.push_back(t.empty() ? t : t.to(d));
  return out;
}

// Every completion row of every sequence, weight 1, one group per sequence.
LossRows completion_rows(const PackedBatch& batch, const std::vector<int64_t>& prompt_lens) {
  LossRows loss;
  loss.groups.push_back(0);
  for (int64_t s = 0; s < batch.n_seqs(); ++s) {
    for (int64_t t = prompt_lens[static_cast<size_t>(s)] - 1; t < batch.seqs.length(s) - 1; ++t) {
      loss.rows.push_back(batch.begin(s) + t);
      loss.targets.push_back(static_cast<int32_t>(batch.tokens[static_cast<size_t>(batch.begin(s) + t + 1)]));
      loss.weights.push_back(1.0f);
    }
    loss.groups.push_back(static_cast<int64_t>(loss.rows.size()));
  }
  return loss;
}

void expect_gpu_matches_cpu(const std::string& fixture) {
  const HybridModel cpu = load_model(test::fixture_model(fixture));
  const HybridModel gpu = model_on(cpu, Device::cuda(0), DType::F32);
  const ReferenceFixture fx = ReferenceFixture::open(test::fixture_model(fixture), cpu);
  // The offsets: a tenth of the fixture's states (as large as a trained S0, an offset read out at
  // every token swamps the outputs).
  StateSet offset = fx.s0;
  offset.variant = AdapterVariant::state_offset;
  for (Tensor& t : offset.states) {
    t = t.clone();
    for (int64_t j = 0; j < t.numel(); ++j) t.f32_mut()[j] *= 0.1f;
  }
  const StateSet offset_gpu = on_device(offset, Device::cuda(0)), s0_gpu = on_device(fx.s0, Device::cuda(0));
  std::vector<std::vector<int64_t>> seqs;
  std::vector<int64_t> prompt_lens;
  std::vector<const StateSet*> on_cpu, on_gpu;
  for (size_t k = 0; k < fx.sequences.size(); ++k)
    for (int kind = 0; kind < 3; ++kind) {  // offset, S0, none
      seqs.push_back(fx.sequences[k]);
      prompt_lens.push_back(fx.prompt_lens[k]);
      on_cpu.push_back(kind == 0 ? &offset : kind == 1 ? &fx.s0 : nullptr);
      on_gpu.push_back(kind == 0 ? &offset_gpu : kind == 1 ? &s0_gpu : nullptr);
    }
  const PackedBatch batch_cpu = PackedBatch::from_sequences(seqs, on_cpu);
  const PackedBatch batch_gpu = PackedBatch::from_sequences(seqs, on_gpu);

  ForwardOptions opt;
  opt.all_logits = true;
  const double logits = test::relative_difference(forward(cpu, batch_cpu, opt).logits, forward(gpu, batch_gpu, opt).logits);
  std::cout << "    " << fixture << " logits: relative difference " << logits << "\n";
  EXPECT_LE(logits, 1e-4) << fixture;

  const LossRows loss = completion_rows(batch_cpu, prompt_lens);
  const LossGradient want = loss_gradient(cpu, batch_cpu, loss, false);
  const LossGradient got = loss_gradient(gpu, batch_gpu, loss, false);
  const LossGradient recomputed = loss_gradient(gpu, batch_gpu, loss, true);
  ASSERT_EQ(want.d_initial.size(), got.d_initial.size());
  for (size_t s = 0; s < want.d_initial.size(); ++s)
    for (size_t slot = 0; slot < want.d_initial[s].size(); ++slot) {
      const Tensor& a = want.d_initial[s][slot];
      const Tensor& b = got.d_initial[s][slot];
      ASSERT_EQ(a.empty(), b.empty()) << fixture << " sequence " << s << " layer slot " << slot;
      if (a.empty()) continue;
      const double diff = test::relative_difference(a, b);
      std::cout << "    " << fixture << " sequence " << s << " (" << (s % 3 == 0 ? "offset" : s % 3 == 1 ? "S0" : "none")
                << ") slot " << slot << " gradient: relative difference " << diff << "\n";
      EXPECT_LE(diff, 1e-4) << fixture << " sequence " << s << " layer slot " << slot;
      EXPECT_EQ(test::relative_difference(b, recomputed.d_initial[s][slot]), 0.0)
          << fixture << " sequence " << s << " layer slot " << slot << ": whole tape against recompute tape";
    }
}

// How many GatedDeltaNet mixers the block's saved activations hold, and how many kept chunk states.
std::pair<int, int> gated_delta_chunk_states(const BlockSaved& bs) {
  std::pair<int, int> count{0, 0};
  for (const MixerSaved& mixer : bs.mixers)
    if (const auto* s = std::get_if<GatedDeltaSaved>(&mixer)) {
      ++count.first;
      count.second += !s->chunk_states.empty();
    }
  return count;
}

}  // namespace

TEST(StateOffsetOnTheGpu, QwenLogitsAndGradientsMatchTheCpu) {
  S0_REQUIRE_GPU();
  expect_gpu_matches_cpu("qwen35-text");
}

TEST(StateOffsetOnTheGpu, FalconLogitsAndGradientsMatchTheCpu) {
  S0_REQUIRE_GPU();
  expect_gpu_matches_cpu("falcon-h1");
}

TEST(WholeTapeOnTheGpu, KeepsGatedDeltaChunkStatesWhereARerunKeepsNone) {
  S0_REQUIRE_GPU();
  const HybridModel cpu = load_model(test::fixture_model("qwen35-text"));
  const HybridModel gpu = model_on(cpu, Device::cuda(0), DType::F32);
  const ReferenceFixture fx = ReferenceFixture::open(test::fixture_model("qwen35-text"), cpu);
  const StateSet s0 = on_device(fx.s0, Device::cuda(0));
  const PackedBatch batch =
      PackedBatch::from_sequences(fx.sequences, std::vector<const StateSet*>(fx.sequences.size(), &s0));
  ForwardTape tape;
  ForwardOptions opt;
  opt.tape = &tape;
  forward(gpu, batch, opt);
  int layers = 0;
  for (size_t b = 0; b < gpu.blocks.size(); ++b) {
    const auto [mixers, kept] = gated_delta_chunk_states(tape.blocks[b]);
    layers += mixers;
    EXPECT_EQ(kept, mixers) << "block " << b << " on the whole tape";
    if (mixers == 0) continue;
    BlockSaved rerun;
    Tensor x = tape.blocks[b].x_in.clone();
    block_forward(gpu.blocks[b], gpu, batch, x, rerun, KeepFor::rerun, nullptr);
    EXPECT_EQ(gated_delta_chunk_states(rerun), std::make_pair(mixers, 0)) << "block " << b << " re-run";
  }
  EXPECT_GT(layers, 0) << "the fixture has GatedDeltaNet layers";
}
