// bf16 weights (the speed mode), on the GPU and on the CPU, against the CPU's f32 mode on the same
// bf16 checkpoint. The f32 mode widens the stored bf16 weights exactly, so all compute the same
// model; the bf16 modes differ in rounding each GEMM's input rows to bf16 (the tensor cores' and
// AMX's operands; a precise projection's input split into two bf16 parts). The shared fixtures
// cannot serve here: they are float32 checkpoints, ill-conditioned on purpose, where rounding the
// weights alone moves the logits by up to 38% (see cmd_check_reference.cpp). These checkpoints are
// random ones initialised as real models are (std 0.02), at a size where every path runs.
// Bounds: logits max relative error 2e-2, S0 gradient relative L2 error per layer 5e-2. Measured on
// an H200 (each run prints them): Qwen3.5 logits 6.9e-3, gradients 1.2e-2 to 2.6e-2; Falcon-H1
// logits 3.7e-3, gradients 4.8e-3 to 6.2e-3. (Without the split inputs of the precise projections,
// Qwen3.5's logits were 2.3e-2 off.) With the gated delta rule's chunk products in TF32 (the GPU's
// bf16 mode since 2026-11-28, ops/product_precision.h), on an H200: Qwen3.5 logits 1.05e-2, gradients
// 7.2e-3 to 1.16e-2; Falcon-H1 (its SSD's chunk products in TF32 too) logits 3.8e-3, gradients
// 4.1e-3 to 5.5e-3. The CPU's bf16 mode, measured on a 2-core Sapphire Rapids (AMX):
// Qwen3.5 logits 7.0e-3, gradients 1.2e-2 to 2.4e-2; Falcon-H1 logits 3.7e-3, gradients 4.4e-3 to 5.7e-3.
// With a precise projection's backward rounding dy to one bf16 term (2026-11-28, both devices):
// GPU (H200) Qwen3.5 logits 1.05e-2, gradients 7.3e-3 to 1.04e-2, Falcon-H1 3.8e-3 and 4.5e-3 to
// 5.6e-3; CPU Qwen3.5 9.7e-3 and 9.3e-3 to 1.2e-2 (1.15e-2 before, same machine), Falcon-H1 3.8e-3
// and 4.6e-3 to 6.7e-3 (5.8e-3 before).
// Nemotron-H (2026-11-28, the residual gradient rounded by the norm backward that finishes it): GPU
// (H200) logits 3.4e-3, gradients 3.7e-3 to 6.6e-3; CPU (2-core development machine) 3.2e-3 and
// 3.1e-3 to 5.6e-3. Qwen3.5 and Falcon-H1 on the GPU in the same run: 1.39e-2, 7.9e-3 to 1.44e-2;
// 3.7e-3, 4.3e-3 to 5.6e-3.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <random>

#include "model/arch/random_falcon_h1.h"
#include "model/arch/random_mamba2_hybrid.h"
#include "model/arch/random_qwen35.h"
#include "model/forward.h"
#include "model/model_on_device.h"
#include "ops/gpu_compare.h"
#include "support/test_support.h"
#include "tune/objective.h"

using namespace s0;

namespace {

constexpr double kLogitsBound = 2e-2;
constexpr double kGradBound = 5e-2;

double relative_l2(const Tensor& ours, const Tensor& truth) {
  const Tensor a = test::on_cpu(ours), b = test::on_cpu(truth);
  double diff = 0, ref = 0;
  for (int64_t i = 0; i < a.numel(); ++i) {
    const double d = static_cast<double>(a.f32()[i]) - b.f32()[i];
    diff += d * d;
    ref += static_cast<double>(b.f32()[i]) * b.f32()[i];
  }
  return std::sqrt(diff / std::max(ref, 1e-30));
}

std::vector<Example> examples_for(int64_t vocab) {
  std::mt19937_64 rng(5);
  std::uniform_int_distribution<int64_t> token(0, vocab - 1);
  std::vector<Example> out;
  for (int64_t len : {70, 9, 131}) {
    Example e{std::vector<int64_t>(static_cast<size_t>(len)), len / 2};
    for (int64_t& id : e.ids) id = token(rng);
    out.push_back(std::move(e));
  }
  return out;
}

void expect_bf16_matches_f32(const std::filesystem::path& dir, Device device, const std::string& what) {
  const HybridModel f32 = load_model(dir);
  const HybridModel bf16 = load_model_on(dir, device, DType::BF16);
  ASSERT_EQ(bf16.embed.dtype(), DType::BF16);

  const std::vector<Example> examples = examples_for(f32.vocab);
  std::vector<std::vector<int64_t>> seqs;
  for (const Example& e : examples) seqs.push_back(e.ids);
  ForwardOptions fo;
  fo.all_logits = true;
  const Tensor want = forward(f32, PackedBatch::from_sequences(seqs), fo).logits;
  const Tensor got = forward(bf16, PackedBatch::from_sequences(seqs), fo).logits;
  const double logits_err = test::relative_difference(want, got);
  std::printf("[ measured ] %s bf16 logits: max relative error %.3g (bound %.0e)\n", what.c_str(), logits_err,
              kLogitsBound);
  EXPECT_LE(logits_err, kLogitsBound) << what;
  EXPECT_GT(logits_err, 1e-7) << what << ": the bf16 mode should round the GEMM inputs to bf16";

  // Non-zero start states, so every path of the recurrences' backward carries a gradient.
  StateSet states;
  std::mt19937 rng(9);
  std::normal_distribution<float> normal(0.0f, 0.05f);
  for (const RecurrentLayer& r : f32.recurrent) {
    std::vector<float> v(static_cast<size_t>(numel_of(r.state_shape)));
    for (float& x : v) x = normal(rng);
    states.states.push_back(Tensor::from(r.state_shape, v));
  }
  ObjectiveOptions oo;
  oo.l2_lambda = 0;  // the penalty's gradient is exact on both: leave only the model's
  const ObjectiveResult g_f32 = objective_and_gradient(f32, examples, states, oo);
  const ObjectiveResult g_bf16 = objective_and_gradient(bf16, examples, states, oo);
  const double objective_err = std::abs(g_bf16.objective - g_f32.objective) / std::abs(g_f32.objective);
  std::printf("[ measured ] %s bf16 objective: relative error %.3g\n", what.c_str(), objective_err);
  EXPECT_LE(objective_err, kLogitsBound) << what;
  for (size_t slot = 0; slot < g_f32.grad.size(); ++slot) {
    const double err = relative_l2(g_bf16.grad[slot], g_f32.grad[slot]);
    std::printf("[ measured ] %s bf16 grad layer %lld: relative L2 error %.3g (bound %.0e)\n", what.c_str(),
                static_cast<long long>(f32.recurrent[slot].layer), err, kGradBound);
    EXPECT_LE(err, kGradBound) << what << " layer " << f32.recurrent[slot].layer;
  }
}

}  // namespace

namespace {

void write_qwen(const std::filesystem::path& dir) {
  Qwen35Dims d;
  d.hidden = 256;
  d.layers = 4;
  d.intermediate = 512;
  d.vocab = 1000;
  d.linear_k_heads = 2;
  d.linear_v_heads = 4;
  d.linear_k_dim = 64;
  d.linear_v_dim = 64;
  d.heads = 4;
  d.kv_heads = 2;
  d.head_dim = 64;
  write_random_qwen35(dir, d);
}

void write_falcon_h1(const std::filesystem::path& dir) {
  FalconH1Dims d;
  d.hidden = 256;
  d.layers = 3;
  d.intermediate = 512;
  d.vocab = 1000;
  d.heads = 4;
  d.kv_heads = 2;
  d.head_dim = 64;
  d.mamba_heads = 8;
  d.mamba_head_dim = 32;
  d.d_state = 16;
  d.groups = 2;
  write_random_falcon_h1(dir, d);
}

// Nemotron-H's layers are one mixer or one feed-forward each: the backward's residual gradient goes
// from an MLP's norm straight to the layer below (model/backward.cpp rounds it for the next reader
// there), and an MoE layer reads it in float32.
void write_nemotron_h(const std::filesystem::path& dir) {
  Mamba2HybridDims d;
  d.family = Mamba2Hybrid::NemotronH;
  d.pattern = "M-*-ME-";
  d.experts = 4;
  d.n_group = 1;
  d.topk_group = 1;
  write_random_mamba2_hybrid(dir, d);
}

}  // namespace

TEST(Bf16OnTheGpu, QwenMatchesTheCpuOnTheSameCheckpoint) {
  S0_REQUIRE_GPU();
  test::TempDir dir;
  write_qwen(dir.path());
  expect_bf16_matches_f32(dir.path(), Device::cuda(0), "qwen3.5 gpu");
}

TEST(Bf16OnTheGpu, FalconH1MatchesTheCpuOnTheSameCheckpoint) {
  S0_REQUIRE_GPU();
  test::TempDir dir;
  write_falcon_h1(dir.path());
  expect_bf16_matches_f32(dir.path(), Device::cuda(0), "falcon-h1 gpu");
}

TEST(Bf16OnTheGpu, NemotronHMatchesTheCpuOnTheSameCheckpoint) {
  S0_REQUIRE_GPU();
  test::TempDir dir;
  write_nemotron_h(dir.path());
  expect_bf16_matches_f32(dir.path(), Device::cuda(0), "nemotron-h gpu");
}

TEST(Bf16OnTheCpu, QwenMatchesTheF32ModeOnTheSameCheckpoint) {
  test::TempDir dir;
  write_qwen(dir.path());
  expect_bf16_matches_f32(dir.path(), Device::cpu(), "qwen3.5 cpu");
}

TEST(Bf16OnTheCpu, FalconH1MatchesTheF32ModeOnTheSameCheckpoint) {
  test::TempDir dir;
  write_falcon_h1(dir.path());
  expect_bf16_matches_f32(dir.path(), Device::cpu(), "falcon-h1 cpu");
}

TEST(Bf16OnTheCpu, NemotronHMatchesTheF32ModeOnTheSameCheckpoint) {
  test::TempDir dir;
  write_nemotron_h(dir.path());
  expect_bf16_matches_f32(dir.path(), Device::cpu(), "nemotron-h cpu");
}
