// Activations written as a bf16 GEMM's operand (ops::linear_input_dtype): on the GPU, an op whose
// output tensor is bf16 writes the nearest-even rounding of the float32 value it would have written,
// bit for bit, and a Linear given that bf16 operand computes, bit for bit, what it computes from the
// float32 value after its own rounding pass. So the speed mode's results do not change. And the
// activations a bf16 GEMM writes in bf16 (ops::linear_output_dtype), which SwiGLU reads.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>

#include "core/error.h"
#include "gpu_test_inputs.h"
#include "ops/activation.h"
#include "ops/conv1d.h"
#include "ops/gates.h"
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

// write(columns) once into columns [begin, begin + count) of a float32 and once of a bf16 matrix
// [rows, width]: the bf16 block must be the host's rounding of the float32 one.
template <typename Write>
void expect_rounded_columns(int64_t rows, int64_t width, int64_t begin, int64_t count, Write write,
                            const std::string& what) {
  Tensor f = gpu_f32({rows, width}), b = gpu_bf16({rows, width});
  write(ops::columns(f, begin, count));
  write(ops::columns(b, begin, count));
  const Tensor rounded = on_cpu(f).to_bf16(), written = on_cpu(b);
  int64_t differ = 0;
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = begin; c < begin + count; ++c)
      differ += rounded.as<uint16_t>()[r * width + c] != written.as<uint16_t>()[r * width + c];
  EXPECT_EQ(differ, 0) << what << ": entries that are not the rounding of the float32 gradient";
}

}  // namespace

// The recurrent mixers' input-projection gradient (ops::linear_grad_dtype): every op that writes
// columns of it writes them rounded, bit for bit.
TEST(CudaBf16Operand, ProjectionGradientColumnsAreTheRoundingOfTheirFloat32Values) {
  S0_REQUIRE_GPU();
  std::mt19937 rng(9);
  const ops::Varlen seqs{{0, 7, 8, 45}};
  const int64_t N = seqs.rows(), width = 700;
  for (const int64_t C : {256, 70}) {  // four channels a thread, and one
    const Tensor w = on_gpu(uniform({C, 4}, -0.5f, 0.5f, rng)), pre = on_gpu(uniform({N, C}, -3, 3, rng));
    const Tensor dy = on_gpu(uniform({N, C}, -2, 2, rng));
    expect_rounded_columns(N, width, 12, C, [&](const ops::Columns& dx) { ops::conv1d_silu_backward(w, pre, dy, seqs, dx); },
                           "conv1d_silu_backward C=" + std::to_string(C));
  }
  const int64_t group = 64, d = 3 * group;
  const Tensor y = on_gpu(uniform({N, d}, -2, 2, rng)), z = on_gpu(uniform({N, d}, -4, 4, rng));
  const Tensor dout = on_gpu(uniform({N, d}, -1, 1, rng));
  for (const ops::GateOrder order :
       {ops::GateOrder::NormThenGate, ops::GateOrder::GateThenNorm, ops::GateOrder::GateOnly}) {
    const bool normed = order != ops::GateOrder::GateOnly;
    const Tensor nw = normed ? on_gpu(uniform({d}, 0.5f, 1.5f, rng)) : Tensor();
    Tensor rstd = normed ? gpu_f32({N * 3}) : Tensor(), out = gpu_f32({N, d}), dy = gpu_f32({N, d});
    ops::gated_rmsnorm_forward(y, ops::columns(z, 0, d), nw, group, 1e-6f, order, out, rstd);
    expect_rounded_columns(
        N, width, 300, d,
        [&](const ops::Columns& dz) {
          ops::gated_rmsnorm_backward(y, ops::columns(z, 0, d), nw, rstd, dout, group, order, dy, dz);
        },
        "gated_rmsnorm_backward order=" + std::to_string(static_cast<int>(order)));
  }
  const int64_t H = 8;
  const Tensor proj = on_gpu(uniform({N, width}, -3, 3, rng)), neg_A = on_gpu(uniform({H}, -2, -0.1f, rng));
  const Tensor dt_bias = on_gpu(uniform({H}, -1, 1, rng)), beta = on_gpu(uniform({N, H}, 0.05f, 0.95f, rng));
  const Tensor dbeta = on_gpu(uniform({N, H}, -1, 1, rng)), dg = on_gpu(uniform({N, H}, -1, 1, rng));
  expect_rounded_columns(N, width, 600, 2 * H, [&](const ops::Columns& g) {
    ops::gated_delta_gates_backward(ops::columns(proj, 620, H), neg_A, dt_bias, beta, dbeta, dg,
                                    ops::columns(g.t, 600, H), ops::columns(g.t, 600 + H, H));
  }, "gated_delta_gates_backward");
  expect_rounded_columns(N, width, 640, H, [&](const ops::Columns& draw) {
    ops::mamba2_dt_backward(ops::columns(proj, 640, H), dt_bias, 0.05f, 2.0f, dg, draw);
  }, "mamba2_dt_backward");
}

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
// (multiplied unrounded) or the CPU. The same for bf16 outputs, which also take no bias after.
TEST(CudaBf16Operand, OnlyWhereTheGpuRoundsTheOperand) {
  S0_REQUIRE_GPU();
  std::mt19937 rng(5);
  const Tensor w32 = uniform({8, 16}, -1, 1, rng);
  const ops::Linear cpu{w32, Tensor(), false, 16, 8}, gpu_f32_w{on_gpu(w32), Tensor(), false, 16, 8};
  const ops::Linear plain{on_gpu(w32.to_bf16()), Tensor(), false, 16, 8};
  const ops::Linear biased{on_gpu(w32.to_bf16()), on_gpu(uniform({8}, -1, 1, rng)), false, 16, 8};
  const ops::Linear precise{on_gpu(w32.to_bf16()), Tensor(), true, 16, 8};
  EXPECT_EQ(ops::linear_output_dtype(plain, 100), DType::BF16);
  EXPECT_EQ(ops::linear_output_dtype(plain, 4), DType::F32);
  EXPECT_EQ(ops::linear_output_dtype(biased, 100), DType::F32);
  EXPECT_EQ(ops::linear_output_dtype(precise, 100), DType::F32);
  EXPECT_EQ(ops::linear_output_dtype(gpu_f32_w, 100), DType::F32);
  EXPECT_EQ(ops::linear_output_dtype(cpu, 100), DType::F32);
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

// Activations a bf16 GEMM writes as bf16 (ops::linear_output_dtype): the GEMM's float32 sums rounded
// once. cuBLASLt may pick another algorithm for a bf16 output, whose sums differ from the float32
// output's in their last bits, so each entry is within half a bf16 step of the float32 result (plus
// that float32 noise), not necessarily its rounding.
TEST(CudaBf16Operand, LinearWritesItsSumsRoundedToBf16) {
  S0_REQUIRE_GPU();
  std::mt19937 rng(6);
  const int64_t rows = 90, in = 640, out = 328;
  const ops::Varlen groups{{0, 5, 6, rows}};
  const ops::Linear l{on_gpu(uniform({out, in}, -0.05f, 0.05f, rng).to_bf16()), Tensor(), false, in, out};
  ASSERT_EQ(ops::linear_output_dtype(l, rows), DType::BF16);
  auto expect_rounded_once = [](const Tensor& f32, const Tensor& bf16, const std::string& what) {
    const Tensor exact = on_cpu(f32), rounded = on_cpu(bf16).to_f32();
    double worst = 0.0;
    for (int64_t i = 0; i < exact.numel(); ++i) {
      const double e = exact.f32()[i], r = rounded.f32()[i];
      worst = std::max(worst, std::abs(r - e) / (std::ldexp(std::abs(e), -8) + 1e-6));
    }
    EXPECT_LE(worst, 1.0) << what << ": an entry further than half a bf16 step from the float32 sum";
  };
  const Tensor x = uniform({rows, in}, -2, 2, rng), dy = uniform({rows, out}, -2, 2, rng);
  for (const bool operand_bf16 : {false, true}) {
    const std::string tag = operand_bf16 ? " (bf16 operand)" : " (float32 operand)";
    const Tensor xs = on_gpu(operand_bf16 ? x.to_bf16() : x), dys = on_gpu(operand_bf16 ? dy.to_bf16() : dy);
    Tensor y32 = gpu_f32({rows, out}), y16 = gpu_bf16({rows, out});
    ops::linear_forward(l, xs, groups, y32);
    ops::linear_forward(l, xs, groups, y16);
    expect_rounded_once(y32, y16, "forward" + tag);
    Tensor dx32 = gpu_f32({rows, in}), dx16 = gpu_bf16({rows, in});
    ops::linear_backward(l, dys, groups, dx32);
    ops::linear_backward(l, dys, groups, dx16);
    expect_rounded_once(dx32, dx16, "backward" + tag);
  }
  Tensor y16 = gpu_bf16({rows, out}), dx16 = gpu_bf16({rows, in});
  EXPECT_EQ(error_of([&] { ops::linear_forward(l, on_gpu(x), groups, y16, /*add=*/true); }),
            "internal: a bf16 output of a BF16 Linear that does not round to it");
  EXPECT_EQ(error_of([&] { ops::linear_backward(l, on_gpu(dy), groups, dx16, /*accumulate=*/true); }),
            "internal: a bf16 input gradient of a BF16 Linear that does not round to it");
}

namespace {
// swiglu_forward / swiglu_backward over n rows of inter columns (SwigluReadsBf16InputsAsTheirFloat32Values).
void swiglu_reads_bf16_inputs(int64_t n, int64_t inter) {
  std::mt19937 rng(8);
  const std::string shape = " (inter " + std::to_string(inter) + ")";
  const Tensor gu16 = uniform({n, 2 * inter}, -6.0f, 6.0f, rng).to_bf16(), dh16 = uniform({n, inter}, -2, 2, rng).to_bf16();
  const Tensor gu32 = gu16.to_f32(), dh32 = dh16.to_f32();
  for (const DType out : {DType::F32, DType::BF16}) {
    const std::string tag = out == DType::BF16 ? " into bf16" : " into float32";
    Tensor h_ref = Tensor::empty({n, inter}, out, Device::cuda(0)), h = Tensor::empty({n, inter}, out, Device::cuda(0));
    ops::swiglu_forward(on_gpu(gu32), h_ref);
    ops::swiglu_forward(on_gpu(gu16), h);
    EXPECT_TRUE(bit_identical(h_ref, h)) << "swiglu_forward" << tag << shape;
    Tensor d_ref = Tensor::empty({n, 2 * inter}, out, Device::cuda(0));
    ops::swiglu_backward(on_gpu(gu32), on_gpu(dh32), d_ref);
    for (const bool gu_bf16 : {false, true})
      for (const bool dh_bf16 : {false, true}) {
        Tensor d = Tensor::empty({n, 2 * inter}, out, Device::cuda(0));
        ops::swiglu_backward(on_gpu(gu_bf16 ? gu16 : gu32), on_gpu(dh_bf16 ? dh16 : dh32), d);
        EXPECT_TRUE(bit_identical(d_ref, d)) << "swiglu_backward gu " << (gu_bf16 ? "bf16" : "f32") << ", dh "
                                             << (dh_bf16 ? "bf16" : "f32") << tag << shape;
      }
  }
}
}  // namespace

// SwiGLU reading bf16 inputs computes what it computes from their float32 widening, bit for bit:
// four columns a thread (inter a multiple of 4) and one.
TEST(CudaBf16Operand, SwigluReadsBf16InputsAsTheirFloat32Values) {
  S0_REQUIRE_GPU();
  for (const int64_t inter : {300, 301}) swiglu_reads_bf16_inputs(37, inter);
}
