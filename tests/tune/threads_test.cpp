// Results do not depend on the thread count, bit for bit: the products behind every projection
// (single and double precision) and a whole forward over a fixture.
#include <gtest/gtest.h>

#include <cstring>
#include <random>

#include "check/reference_fixture.h"
#include "model/arch/registry.h"
#include "model/forward.h"
#include "ops/cpu/gemm.h"
#include "ops/threads.h"
#include "support/test_support.h"

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
