// Results do not depend on the thread count, bit for bit: the products behind every projection
// (single and double precision, bf16), a whole forward over a fixture, and on a random model in
// both weight modes (f32, bf16) the forward, decode steps and an S0 training step's gradient.
#include <gtest/gtest.h>

#include <cstring>
#include <random>

#include "check/reference_fixture.h"
#include "core/half.h"
#include "generate/generator.h"
#include "model/arch/registry.h"
#include "model/forward.h"
#include "model/model_on_device.h"
#include "ops/cpu/bf16_gemm.h"
#include "ops/cpu/gemm.h"
#include "ops/cpu/rowwise_bf16.h"
#include "ops/threads.h"
#include "support/small_models.h"
#include "support/test_support.h"
#include "tune/objective.h"

using namespace s0;

namespace {

// Runs `compute` with 1 thread and with `threads`, restoring every core afterwards.
template <typename Compute>
std::pair<std::vector<float>, std::vector<float>> with_threads(int threads, const Compute& compute) {
  ops::set_compute_threads(1);
  std::vector<float> one = compute();
  ops::set_compute_threads(threads);
  std::vector<float> many = compute();
  ops::set_compute_threads(ops::available_cores());
  return {one, many};
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

}  // namespace

// The shape where OpenBLAS 0.3.21's own threading rounds differently with 2 threads (measured).
TEST(ThreadCount, ProjectionsAreBitIdentical) {
  const int64_t n = 513, in = 257, out = 1031;
  std::mt19937 rng(7);
  std::normal_distribution<float> normal;
  std::vector<float> x(n * in), w(out * in);
  for (float& v : x) v = normal(rng);
  for (float& v : w) v = normal(rng);
  for (int threads : {2, 3, 4}) {
    auto [a, b] = with_threads(threads, [&] {
      std::vector<float> y(n * out);
      ops::cpu::linear_forward_f64(x.data(), n, w.data(), nullptr, in, out, y.data(), false);
      return y;
    });
    EXPECT_TRUE(same_bits(a, b)) << "double-accumulated projection, " << threads << " threads";
    auto [c, d] = with_threads(threads, [&] {
      std::vector<float> y(n * out);
      ops::cpu::linear_forward(x.data(), n, w.data(), nullptr, in, out, y.data());
      return y;
    });
    EXPECT_TRUE(same_bits(c, d)) << "float projection, " << threads << " threads";
  }
}

TEST(ThreadCount, ForwardLogitsAreBitIdentical) {
  for (const std::string& name : test::fixture_model_names()) {
    const HybridModel model = load_model(test::fixture_model(name));
    const ReferenceFixture fx = ReferenceFixture::open(test::fixture_model(name), model);
    auto [a, b] = with_threads(2, [&] {
      const PackedBatch batch =
          PackedBatch::from_sequences(fx.sequences, std::vector<const StateSet*>(fx.sequences.size(), &fx.s0));
      ForwardOptions fo;
      fo.all_logits = true;
      const ForwardOutput out = forward(model, batch, fo);
      return std::vector<float>(out.logits.f32(), out.logits.f32() + out.logits.numel());
    });
    EXPECT_TRUE(same_bits(a, b)) << name;
  }
}

TEST(ThreadCount, Bf16ProductsAreBitIdentical) {
  const int64_t n = 300, in = 257, out = 1031;
  std::mt19937 rng(8);
  std::normal_distribution<float> normal;
  std::vector<uint16_t> x(n * in), w(out * in);
  for (uint16_t& v : x) v = f32_to_bf16(normal(rng));
  for (uint16_t& v : w) v = f32_to_bf16(normal(rng));
  for (int threads : {2, 3}) {
    auto [a, b] = with_threads(threads, [&] {
      std::vector<float> y(n * out);
      ops::cpu::bf16_gemm(n, out, in, x.data(), w.data(), true, y.data(), false);
      return y;
    });
    EXPECT_TRUE(same_bits(a, b)) << "bf16 GEMM, " << threads << " threads";
    auto [c, d] = with_threads(threads, [&] {
      std::vector<float> y(16 * out);
      ops::cpu::rowwise_bf16_linear(x.data(), 16, w.data(), nullptr, in, out, y.data(), false);
      return y;
    });
    EXPECT_TRUE(same_bits(c, d)) << "bf16 row-wise, " << threads << " threads";
  }
}

namespace {

// Everything a model computes for S0 tuning and generation, as one vector: all-position logits of
// two sequences, 6 greedy decode steps' logits of two sequences together, the S0 gradient.
std::vector<float> model_results(const HybridModel& model) {
  const std::vector<std::vector<int64_t>> seqs{{1, 5, 9, 96, 0, 3, 7, 7, 2, 40, 41, 42, 43, 44}, {4, 4, 2, 8, 200}};
  ForwardOptions fo;
  fo.all_logits = true;
  const Tensor logits = forward(model, PackedBatch::from_sequences(seqs), fo).logits;
  std::vector<float> out(logits.f32(), logits.f32() + logits.numel());
  GenerationOptions go;
  go.max_new_tokens = 6;
  go.keep_logits = true;
  for (const Generation& g : generate(model, {{seqs[0], nullptr, 0}, {seqs[1], nullptr, 1}}, go))
    for (const std::vector<float>& step : g.logits) out.insert(out.end(), step.begin(), step.end());
  StateSet states;
  for (const RecurrentLayer& r : model.recurrent) {
    std::vector<float> v(static_cast<size_t>(numel_of(r.state_shape)));
    for (size_t i = 0; i < v.size(); ++i) v[i] = 0.01f * static_cast<float>(i % 17) - 0.08f;
    states.states.push_back(Tensor::from(r.state_shape, v));
  }
  const ObjectiveResult g = objective_and_gradient(model, {{seqs[0], 5}, {seqs[1], 2}}, states, {});
  for (const Tensor& t : g.grad) out.insert(out.end(), t.f32(), t.f32() + t.numel());
  return out;
}

}  // namespace

TEST(ThreadCount, ForwardDecodeAndTrainingStepAreBitIdenticalInBothModes) {
  test::TempDir dir;
  Qwen35Dims d = test::small_qwen35(4);  // GEMMs of several tiles
  d.dtype = DType::BF16;
  d.init_std = 0.05f;
  write_random_qwen35(dir.path(), d);
  for (const DType mode : {DType::F32, DType::BF16}) {
    const HybridModel model = load_model_on(dir.path(), Device::cpu(), mode);
    auto [a, b] = with_threads(2, [&] { return model_results(model); });
    EXPECT_TRUE(same_bits(a, b)) << dtype_name(mode);
  }
}
