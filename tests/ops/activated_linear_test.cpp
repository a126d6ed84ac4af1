// A Linear whose input is SwiGLU's or the sigmoid gate's output (ops/activated_linear.h): on a GPU,
// a product of up to four rows with a bf16 W forms the activation as it reads it; it must give the
// bits the written activation gives (every row count the few-row kernel takes, with bias and add,
// the gate read in place from a wider projection and at an offset that is not 16-byte aligned, which
// takes the written path). On the CPU the activation is written and multiplied as usual.
#include <gtest/gtest.h>

#include <random>
#include <string>

#include "gpu_test_inputs.h"
#include "ops/activated_linear.h"
#include "ops/activation.h"
#include "ops/linear.h"
#include "support/test_support.h"

using namespace s0;
using test::bit_identical;
using test::on_gpu;
using test::uniform;

namespace {

ops::Linear linear_of(int64_t in, int64_t out, bool bias, std::mt19937& rng) {
  return {uniform({out, in}, -0.05f, 0.05f, rng), bias ? uniform({out}, -1, 1, rng) : Tensor(), false, in, out};
}

ops::Linear bf16_on_gpu(const ops::Linear& l) { return {on_gpu(l.w.to_bf16()), on_gpu(l.b), false, l.in, l.out}; }

// linear_forward of `a` against the activation written by its own op and then multiplied.
void expect_as_written(const ops::Linear& l, const ops::Activated& a, bool add, std::mt19937& rng,
                       const std::string& what) {
  const int64_t rows = a.rows();
  const Tensor y0 = uniform({rows, l.out}, -1, 1, rng);
  const Device dev = a.x.device();
  Tensor formed = add ? y0.clone().to(dev) : Tensor::empty({rows, l.out}, DType::F32, dev);
  Tensor written = add ? y0.clone().to(dev) : Tensor::empty({rows, l.out}, DType::F32, dev);
  const ops::Varlen groups{{0, rows}};
  ops::linear_forward(l, a, groups, formed, add);
  ops::linear_forward(l, ops::activation_output(a, ops::linear_input_dtype(l, rows)), groups, written, add);
  EXPECT_TRUE(bit_identical(formed, written)) << what;
}

}  // namespace

TEST(ActivatedLinear, CpuMultipliesTheWrittenActivation) {
  std::mt19937 rng(5);
  const int64_t rows = 3, inter = 48, out = 20;
  const ops::Linear l = linear_of(inter, out, true, rng);
  const Tensor gu = uniform({rows, 2 * inter}, -4, 4, rng), o = uniform({rows, inter}, -2, 2, rng);
  for (bool add : {false, true}) {
    expect_as_written(l, ops::Activated::swiglu(gu), add, rng, "swiglu");
    expect_as_written(l, ops::Activated::sigmoid_gated(o, ops::columns(gu, inter, inter)), add, rng, "sigmoid gate");
  }
  // And the written activation is the op's: silu(gate) * up.
  const Tensor h = ops::activation_output(ops::Activated::swiglu(gu), DType::F32);
  Tensor expected = Tensor::empty({rows, inter}, DType::F32, Device::cpu());
  ops::swiglu_forward(gu, expected);
  EXPECT_TRUE(bit_identical(h, expected));
}

TEST(CudaActivatedLinear, FormedInputGivesTheWrittenActivationsBits) {
  S0_REQUIRE_GPU();
  std::mt19937 rng(7);
  const int64_t inter = 1152, out = 200;
  for (bool bias : {false, true}) {
    const ops::Linear l = bf16_on_gpu(linear_of(inter, out, bias, rng));
    for (int64_t rows : {1, 2, 3, 4, 5})  // 5: past the few-row kernel, the GEMM path
      for (bool add : {false, true}) {
        const std::string what = std::to_string(rows) + " rows" + (bias ? " bias" : "") + (add ? " add" : "");
        const Tensor gu = on_gpu(uniform({rows, 2 * inter}, -6, 6, rng));
        const Tensor o = on_gpu(uniform({rows, inter}, -2, 2, rng));
        const Tensor proj = on_gpu(uniform({rows, 3 * inter}, -6, 6, rng));
        expect_as_written(l, ops::Activated::swiglu(gu), add, rng, "swiglu " + what);
        expect_as_written(l, ops::Activated::sigmoid_gated(o, ops::columns(proj, inter, inter)), add, rng,
                          "sigmoid gate " + what);
        expect_as_written(l, ops::Activated::sigmoid_gated(o, ops::columns(proj, inter + 1, inter)), add, rng,
                          "sigmoid gate, unaligned " + what);
      }
  }
}
