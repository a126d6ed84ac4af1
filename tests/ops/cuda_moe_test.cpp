// The CUDA mixture-of-experts ops against the CPU ops (themselves checked against a naive sort and
// finite differences in moe_test.cpp) on the same random inputs. The router's choice must be the
// same; values agree to a float rounding (both compute in double and round once) and reductions to
// 1e-5 relative. GPU outputs start as NaN, so an element a kernel fails to write fails.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <random>

#include "gpu_compare.h"
#include "ops/moe.h"

using namespace s0;
using test::on_cpu;
using test::on_gpu;

namespace {

constexpr double kRounding = 2e-7;
constexpr double kReduction = 1e-5;

Tensor randn(Shape shape, uint32_t seed, float scale = 1.0f) {
  std::mt19937 gen(seed);
  std::normal_distribution<float> dist(0.0f, scale);
  std::vector<float> v(static_cast<size_t>(numel_of(shape)));
  for (float& x : v) x = dist(gen);
  return Tensor::from(std::move(shape), v);
}

Tensor poisoned_gpu(Shape shape) {
  return on_gpu(Tensor::from(shape, std::vector<float>(static_cast<size_t>(numel_of(shape)), NAN)));
}

void expect_close(const Tensor& cpu, const Tensor& gpu, double bound, const char* what) {
  const double r = test::relative_difference(cpu, gpu);
  std::printf("[ measured ] %s: relative difference %.3g (bound %.0e)\n", what, r, bound);
  EXPECT_LE(r, bound) << what;
}

}  // namespace

TEST(CudaMoe, RouterMatchesCpu) {
  S0_REQUIRE_GPU();
  const int64_t N = 300, E = 64, k = 8;
  const Tensor logits = randn({N, E}, 71, 2.0f), dw = randn({N, k}, 72);
  for (bool normalize : {false, true}) {
    const ops::Routing c = ops::route_top_k(logits, k, normalize);
    const ops::Routing g = ops::route_top_k(on_gpu(logits), k, normalize);
    EXPECT_EQ(c.experts, g.experts);
    expect_close(c.probs, g.probs, kRounding, "router probabilities");
    expect_close(c.weights, g.weights, kRounding, "router weights");
    Tensor dc = Tensor::zeros({N, E}), dg = poisoned_gpu({N, E});
    ops::route_top_k_backward(c, dw, dc);
    ops::route_top_k_backward(g, on_gpu(dw), dg);
    expect_close(dc, dg, kRounding, "router backward");
  }
}

TEST(CudaMoe, CombineAndSharedGateMatchCpu) {
  S0_REQUIRE_GPU();
  const int64_t N = 40, k = 2, n = 17, d = 300;
  std::vector<int64_t> rows, slots;
  for (int64_t i = 0; i < n; ++i) {
    rows.push_back(2 * i + 1);
    slots.push_back((2 * i + 1) * k + i % k);
  }
  const Tensor y = randn({n, d}, 73), w = randn({N, k}, 74), base = randn({N, d}, 75), d_out = randn({N, d}, 76);
  Tensor oc = base.clone(), og = on_gpu(base);
  ops::weighted_rows_add(y, rows, w, slots, oc);
  ops::weighted_rows_add(on_gpu(y), rows, on_gpu(w), slots, og);
  expect_close(oc, og, kRounding, "weighted_rows_add");
  Tensor dyc = Tensor::zeros({n, d}), dwc = Tensor::zeros({N, k});
  Tensor dyg = poisoned_gpu({n, d}), dwg = on_gpu(Tensor::zeros({N, k}));
  ops::weighted_rows_add_backward(y, rows, w, slots, d_out, dyc, dwc);
  ops::weighted_rows_add_backward(on_gpu(y), rows, on_gpu(w), slots, on_gpu(d_out), dyg, dwg);
  expect_close(dyc, dyg, kRounding, "weighted_rows_add backward dy");
  expect_close(dwc, dwg, kReduction, "weighted_rows_add backward d_weights");

  const Tensor ys = randn({N, d}, 77), gate = randn({N, 1}, 78, 2.0f);
  Tensor sc = base.clone(), sg = on_gpu(base);
  ops::sigmoid_row_gate(ys, gate, sc);
  ops::sigmoid_row_gate(on_gpu(ys), on_gpu(gate), sg);
  expect_close(sc, sg, 1e-6, "sigmoid_row_gate");
  Tensor dys = Tensor::zeros({N, d}), dgs = Tensor::zeros({N, 1}), dyg2 = poisoned_gpu({N, d}),
         dgg = poisoned_gpu({N, 1});
  ops::sigmoid_row_gate_backward(ys, gate, d_out, dys, dgs);
  ops::sigmoid_row_gate_backward(on_gpu(ys), on_gpu(gate), on_gpu(d_out), dyg2, dgg);
  expect_close(dys, dyg2, 1e-6, "sigmoid_row_gate backward dy");
  expect_close(dgs, dgg, kReduction, "sigmoid_row_gate backward dgate");
}
