// CUDA cross-entropy against the CPU op: per-row losses, and the weighted loss (in its slot of the
// sums buffer) with its gradient written in place over a block of rows (rows outside it untouched),
// or beside it in bf16, on vocabularies that are and are not a multiple of four; run twice for
// identical bits. Skips,
// saying why, without a GPU.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "gpu_compare.h"
#include "gpu_test_inputs.h"
#include "ops/cross_entropy.h"

namespace s0::test {
namespace {

// V: a vocabulary the kernel reads one by one (5003) or four at a time (6000), with a -inf logit in
// row 4 (a masked entry adds nothing to the sum).
class CudaCrossEntropy : public ::testing::TestWithParam<int64_t> {};

TEST_P(CudaCrossEntropy, MatchesCpuAndRepeats) {
  S0_REQUIRE_GPU();
  std::mt19937 rng(8);
  const int64_t R = 7, V = GetParam();
  Tensor logits = uniform({R, V}, -6, 6, rng);
  logits.f32_mut()[4 * V + 17] = -INFINITY;
  std::vector<int32_t> targets;
  std::uniform_int_distribution<int32_t> token(0, V - 1);
  for (int64_t r = 0; r < R; ++r) targets.push_back(token(rng));
  targets[3] = V - 1;  // the last column
  const std::vector<float> weights = {0.5f, 1.0f, 0.0f, 2.0f};  // rows [2, 6)

  const std::vector<float> cpu_losses = ops::cross_entropy_forward(logits, targets.data());
  const std::vector<float> gpu_losses = ops::cross_entropy_forward(on_gpu(logits), targets.data());
  expect_close("per-row losses", Tensor::from({R}, cpu_losses), Tensor::from({R}, gpu_losses), 1e-6);

  // Each weighted sum lands in its slot of a float64 buffer on the logits' device.
  auto weighted_loss = [&](Tensor& grad, int64_t slot) {
    Tensor sums = Tensor::zeros({3}, DType::F64, grad.device());
    ops::cross_entropy_forward_backward(grad, 2, 6, targets.data() + 2, weights.data(), sums, slot, grad);
    const Tensor host = sums.to(Device::cpu());
    for (int64_t i = 0; i < 3; ++i) {
      if (i != slot) {
        EXPECT_EQ(host.as<double>()[i], 0.0) << "slot " << i << " written";
      }
    }
    return host.as<double>()[slot];
  };
  Tensor cpu_grad = logits.clone(), gpu_grad = on_gpu(logits), gpu_again = on_gpu(logits);
  const double cpu_total = weighted_loss(cpu_grad, 1);
  const double gpu_total = weighted_loss(gpu_grad, 2);
  const double again_total = weighted_loss(gpu_again, 0);
  std::cout << "    weighted loss: cpu " << cpu_total << ", gpu " << gpu_total << "\n";
  EXPECT_LE(std::abs(gpu_total - cpu_total), 1e-6 * std::abs(cpu_total));
  expect_close("gradient rows 2..5", rows_of(cpu_grad, 2, 4), rows_of(gpu_grad, 2, 4), 1e-6);
  EXPECT_TRUE(bit_identical(rows_of(gpu_grad, 0, 2), rows_of(logits, 0, 2)) &&
              bit_identical(rows_of(gpu_grad, 6, 1), rows_of(logits, 6, 1)))
      << "rows outside [2, 6) changed";
  EXPECT_EQ(gpu_total, again_total);
  EXPECT_TRUE(bit_identical(gpu_grad, gpu_again)) << "not repeatable";

  // A bf16 gradient beside the logits: the float32 gradient rounded to nearest even, the logits
  // left as they were.
  const Tensor gpu_logits = on_gpu(logits);
  Tensor bf16_grad = on_gpu(logits.to_bf16());
  Tensor sums = Tensor::zeros({1}, DType::F64, gpu_logits.device());
  ops::cross_entropy_forward_backward(gpu_logits, 2, 6, targets.data() + 2, weights.data(), sums, 0, bf16_grad);
  EXPECT_EQ(sums.to(Device::cpu()).as<double>()[0], gpu_total);
  EXPECT_TRUE(bit_identical(rows_of(on_cpu(bf16_grad).to_f32(), 2, 4), rows_of(gpu_grad, 2, 4).to_bf16().to_f32()))
      << "the bf16 gradient is not the float32 one rounded";
  EXPECT_TRUE(bit_identical(gpu_logits, on_gpu(logits))) << "the logits changed";
}

INSTANTIATE_TEST_SUITE_P(Vocabularies, CudaCrossEntropy, ::testing::Values(int64_t{5003}, int64_t{6000}));

}  // namespace
}  // namespace s0::test
