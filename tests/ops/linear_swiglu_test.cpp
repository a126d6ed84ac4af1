// The MLP's input projection with its SwiGLU (ops/linear_swiglu.h): on a GPU, up to four rows with
// a bf16 W go through one kernel that pairs each block's gate and up rows; gu and h must be the bits
// of the projection followed by swiglu_forward (every row count the kernel takes, with and without
// bias, and 5 rows, past it). On the CPU it is that sequence.
#include <gtest/gtest.h>

#include <random>
#include <string>

#include "gpu_test_inputs.h"
#include "ops/activation.h"
#include "ops/linear.h"
#include "ops/linear_swiglu.h"
#include "support/test_support.h"

using namespace s0;
using test::bit_identical;
using test::on_gpu;
using test::uniform;

namespace {

void expect_sequence_bits(const ops::Linear& l, int64_t rows, std::mt19937& rng, const std::string& what) {
  const Device dev = l.w.device();
  const int64_t units = l.out / 2;
  const Tensor x = uniform({rows, l.in}, -2, 2, rng).to(dev);
  const ops::Varlen groups{{0, rows}};
  Tensor gu = Tensor::empty({rows, l.out}, DType::F32, dev), h = Tensor::empty({rows, units}, DType::F32, dev);
  ops::linear_swiglu_forward(l, x, groups, gu, h);
  Tensor gu_seq = Tensor::empty({rows, l.out}, DType::F32, dev), h_seq = Tensor::empty({rows, units}, DType::F32, dev);
  ops::linear_forward(l, x, groups, gu_seq);
  ops::swiglu_forward(gu_seq, h_seq);
  EXPECT_TRUE(bit_identical(gu, gu_seq)) << what << ": gu";
  EXPECT_TRUE(bit_identical(h, h_seq)) << what << ": h";
}

ops::Linear gate_up(int64_t in, int64_t units, bool bias, std::mt19937& rng) {
  return {uniform({2 * units, in}, -0.1f, 0.1f, rng), bias ? uniform({2 * units}, -1, 1, rng) : Tensor(), false, in,
          2 * units};
}

}  // namespace

TEST(LinearSwiglu, CpuIsTheProjectionThenTheActivation) {
  std::mt19937 rng(3);
  const ops::Linear l = gate_up(40, 24, true, rng);
  for (int64_t rows : {1, 3}) expect_sequence_bits(l, rows, rng, std::to_string(rows) + " rows");
}

TEST(CudaLinearSwiglu, OneKernelGivesTheSequencesBits) {
  S0_REQUIRE_GPU();
  std::mt19937 rng(11);
  // 2560 x 2 * 640: the blocks pair one warp group's units (split 4); 256 x 2 * 4608: four groups a block.
  for (const auto& [in, units] : {std::pair<int64_t, int64_t>{2560, 640}, {256, 4608}})
    for (bool bias : {false, true}) {
      const ops::Linear host = gate_up(in, units, bias, rng);
      const ops::Linear l{on_gpu(host.w.to_bf16()), on_gpu(host.b), false, in, 2 * units};
      for (int64_t rows : {1, 2, 3, 4, 5})
        expect_sequence_bits(l, rows, rng,
                             std::to_string(rows) + " rows, in " + std::to_string(in) + (bias ? ", bias" : ""));
    }
}
