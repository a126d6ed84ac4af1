// Activations written as a bf16 GEMM's operand (ops::linear_input_dtype): on the GPU, an op whose
// output tensor is bf16 writes the nearest-even rounding of the float32 value it would have written,
// bit for bit, and a Linear given that bf16 operand computes, bit for bit, what it computes from the
// float32 value after its own rounding pass. So the speed mode's results do not change.
#include <gtest/gtest.h>

#include <random>
#include <string>

#include "core/error.h"
#include "gpu_test_inputs.h"
#include "ops/activation.h"
#include "ops/linear.h"
#include "ops/norm.h"
#include "support/test_support.h"

using namespace s0;
using test::bit_identical;
using test::error_of;
using test::on_cpu;
using test::on_gpu;
using test::uniform;

namespace {

Tensor gpu_f32(const Shape& shape) { return Tensor::empty(shape, DType::F32, Device::cuda(0)); }
Tensor gpu_bf16(const Shape& shape) { return Tensor::empty(shape, DType::BF16, Device::cuda(0)); }

// write(out) once into a float32 and once into a bf16 tensor of `shape`: the bf16 one must be the
// host's rounding of the float32 one.
template <typename Write>
void expect_rounded_output(const Shape& shape, Write write, const std::string& what) {
  Tensor f = gpu_f32(shape), b = gpu_bf16(shape);
  write(f);
  write(b);
  EXPECT_TRUE(bit_identical(on_cpu(f).to_bf16(), b)) << what;
}

}  // namespace

TEST(CudaBf16Operand, OpsWriteTheRoundingOfTheirFloat32Output) {
  S0_REQUIRE_GPU();
  std::mt19937 rng(3);
  const int64_t n = 37, inter = 300;
  const Tensor gu = on_gpu(uniform({n, 2 * inter}, -6.0f, 6.0f, rng)), dh = on_gpu(uniform({n, inter}, -2, 2, rng));
  expect_rounded_output({n, inter}, [&](Tensor& h) { ops::swiglu_forward(gu, h); }, "swiglu_forward");
  expect_rounded_output({n, 2 * inter}, [&](Tensor& d) { ops::swiglu_backward(gu, dh, d); }, "swiglu_backward");
  const Tensor u = on_gpu(uniform({n, inter}, -3.0f, 3.0f, rng));
  expect_rounded_output({n, inter}, [&](Tensor& h) { ops::relu2_forward(u, h); }, "relu2_forward");
  expect_rounded_output({n, inter}, [&](Tensor& d) { ops::relu2_backward(u, dh, d); }, "relu2_backward");
  expect_rounded_output({n, inter}, [&](Tensor& o) { ops::sigmoid_gate_forward(dh, ops::columns(gu, 7, inter), o); },
                        "sigmoid_gate_forward");
  for (const int64_t d : {37, 2560}) {
    const Tensor x = on_gpu(uniform({n, d}, -3.0f, 3.0f, rng)), w = on_gpu(uniform({d}, 0.5f, 1.5f, rng));
    Tensor rstd = gpu_f32({n});
    expect_rounded_output({n, d}, [&](Tensor& y) { ops::rmsnorm_forward(x, w, 1e-6f, y, rstd); },
                          "rmsnorm_forward d=" + std::to_string(d));
  }
  const int64_t group = 100, d = 3 * group;
  const Tensor y = on_gpu(uniform({n, d}, -2, 2, rng)), z = on_gpu(uniform({n, d}, -4, 4, rng));
  for (const ops::GateOrder order :
       {ops::GateOrder::NormThenGate, ops::GateOrder::GateThenNorm, ops::GateOrder::GateOnly}) {
    const bool normed = order != ops::GateOrder::GateOnly;
    const Tensor w = normed ? on_gpu(uniform({d}, 0.5f, 1.5f, rng)) : Tensor();
    Tensor rstd = normed ? gpu_f32({n * 3}) : Tensor();
    const ops::Columns gate = ops::columns(z, 0, d);
    expect_rounded_output(
        {n, d}, [&](Tensor& out) { ops::gated_rmsnorm_forward(y, gate, w, group, 1e-6f, order, out, rstd); },
        "gated_rmsnorm_forward order=" + std::to_string(static_cast<int>(order)));
  }
}

// A precise projection's backward too: only its forward splits the operand in two.
TEST(CudaBf16Operand, LinearOfTheBf16OperandIsTheProductOfTheFloat32One) {
  S0_REQUIRE_GPU();
  std::mt19937 rng(4);
  const int64_t rows = 90, in = 640, out = 328;
  const ops::Varlen groups{{0, 5, 6, rows}};
  const Tensor w = on_gpu(uniform({out, in}, -0.05f, 0.05f, rng).to_bf16());
  for (const bool precise : {false, true})
    for (const bool bias : {false, true})
      for (const bool add : {false, true}) {
        const ops::Linear l{w, bias ? on_gpu(uniform({out}, -1, 1, rng)) : Tensor(), precise, in, out};
        const std::string tag = std::string(precise ? " precise" : "") + (bias ? " bias" : "") + (add ? " add" : "");
        const Tensor x = uniform({rows, in}, -2, 2, rng), y0 = on_gpu(uniform({rows, out}, -1, 1, rng));
        if (!precise) {
          ASSERT_EQ(ops::linear_input_dtype(l, rows), DType::BF16);
          Tensor y_f32 = y0.clone(), y_bf16 = y0.clone();
          ops::linear_forward(l, on_gpu(x), groups, y_f32, add);
          ops::linear_forward(l, on_gpu(x.to_bf16()), groups, y_bf16, add);
          EXPECT_TRUE(bit_identical(y_f32, y_bf16)) << "forward" << tag;
        }
        if (bias) continue;
        ASSERT_EQ(ops::linear_grad_dtype(l), DType::BF16);
        const Tensor dy = uniform({rows, out}, -2, 2, rng), dx0 = on_gpu(uniform({rows, in}, -1, 1, rng));
        Tensor dx_f32 = dx0.clone(), dx_bf16 = dx0.clone();
        ops::linear_backward(l, on_gpu(dy), groups, dx_f32, add);
        ops::linear_backward(l, on_gpu(dy.to_bf16()), groups, dx_bf16, add);
        EXPECT_TRUE(bit_identical(dx_f32, dx_bf16)) << "backward" << tag;
      }
}

// bf16 only where the GPU would round the operand to one bf16 term itself: not for float32 weights
// (the exactness mode), a precise projection's input (two terms; its gradient is one), a few rows
// (multiplied unrounded) or the CPU.
TEST(CudaBf16Operand, OnlyWhereTheGpuRoundsTheOperand) {
  S0_REQUIRE_GPU();
  std::mt19937 rng(5);
  const Tensor w32 = uniform({8, 16}, -1, 1, rng);
  const ops::Linear cpu{w32, Tensor(), false, 16, 8}, gpu_f32_w{on_gpu(w32), Tensor(), false, 16, 8};
  const ops::Linear plain{on_gpu(w32.to_bf16()), Tensor(), false, 16, 8};
  const ops::Linear precise{on_gpu(w32.to_bf16()), Tensor(), true, 16, 8};
  EXPECT_EQ(ops::linear_input_dtype(plain, 100), DType::BF16);
  EXPECT_EQ(ops::linear_input_dtype(plain, 4), DType::F32);
  EXPECT_EQ(ops::linear_input_dtype(precise, 100), DType::F32);
  EXPECT_EQ(ops::linear_input_dtype(gpu_f32_w, 100), DType::F32);
  EXPECT_EQ(ops::linear_input_dtype(cpu, 100), DType::F32);
  EXPECT_EQ(ops::linear_grad_dtype(plain), DType::BF16);
  EXPECT_EQ(ops::linear_grad_dtype(precise), DType::BF16);
  EXPECT_EQ(ops::linear_grad_dtype(gpu_f32_w), DType::F32);
  EXPECT_EQ(ops::linear_grad_dtype(cpu), DType::F32);
  Tensor y = gpu_f32({100, 8});
  EXPECT_EQ(error_of([&] { ops::linear_forward(precise, gpu_bf16({100, 16}), ops::Varlen{{0, 100}}, y); }),
            "internal: a bf16 operand for a precise BF16 Linear on a GPU");
}
