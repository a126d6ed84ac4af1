// The CUDA dense ops (linear, norms, activations, gates, heads, rows, columns, the MoE router and
// combine) against the CPU ops
// on the same random inputs, through the Tensor-level API. The CPU ops are the truth (checked
// against naive loops, fixtures and finite differences elsewhere). GPU outputs start as NaN, so an
// element a kernel fails to write fails the comparison. Bounds, relative to the largest CPU value:
// 1e-6 for elementwise ops (a few ulp of expf / log1pf), 1e-5 for reductions and float32 GEMMs
// (TF32 would land near 1e-3 and fail). Each comparison prints what it measured.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <tuple>
#include <utility>

#include "core/error.h"
#include "core/half.h"
#include "gpu_compare.h"
#include "gpu_test_inputs.h"
#include "ops/activation.h"
#include "ops/columns.h"
#include "ops/gates.h"
#include "ops/heads.h"
#include "ops/linear.h"
#include "ops/moe.h"
#include "ops/norm.h"
#include "ops/rows.h"
#include "support/test_support.h"

using namespace s0;
using test::error_of;
using test::on_cpu;
using test::on_gpu;
using test::bit_identical;
using test::rows_of;

namespace {

constexpr double kElementwise = 1e-6;
constexpr double kReduction = 1e-5;
// Both devices round a double result to float once: at most a float rounding apart.
constexpr double kPrecise = 2e-7;

Tensor randn(Shape shape, uint32_t seed, float scale = 1.0f, float offset = 0.0f) {
  std::mt19937 gen(seed);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> v(static_cast<size_t>(numel_of(shape)));
  for (float& x : v) x = offset + scale * dist(gen);
  return Tensor::from(std::move(shape), v);
}

// A GPU output nobody has written yet.
Tensor poisoned_gpu(Shape shape) {
  return on_gpu(Tensor::from(shape, std::vector<float>(static_cast<size_t>(numel_of(shape)), NAN)));
}

void expect_close(const Tensor& cpu, const Tensor& gpu, double bound, const std::string& what) {
  const double r = test::relative_difference(cpu, gpu);
  std::printf("[ measured ] %s: relative difference %.3g (bound %.0e)\n", what.c_str(), r, bound);
  EXPECT_LE(r, bound) << what;
}

bool same_bits(const Tensor& a, const Tensor& b) {
  const Tensor x = on_cpu(a), y = on_cpu(b);
  return x.shape() == y.shape() && std::memcmp(x.f32(), y.f32(), x.nbytes()) == 0;
}

struct LinearPair {
  ops::Linear cpu, gpu;
};

LinearPair make_linear(int64_t in, int64_t out, bool bias, bool precise, uint32_t seed) {
  ops::Linear l{randn({out, in}, seed, 1.0f / std::sqrt(float(in))), bias ? randn({out}, seed + 1) : Tensor(), precise,
                in, out};
  return {l, {on_gpu(l.w), on_gpu(l.b), precise, in, out}};
}

// The forward of `gpu` (and its backward, when there is no bias) against `cpu` on the same random
// rows, the CPU given `operand` of each input (what the GPU's GEMM effectively multiplies).
// `operand` stands for what the GPU makes of x, `grad_operand` of dy (the same unless given).
void expect_linear_matches(const ops::Linear& cpu, const ops::Linear& gpu, const ops::Varlen& groups, bool add,
                           const std::function<Tensor(const Tensor&)>& operand, const std::string& what,
                           uint32_t seed, const std::function<Tensor(const Tensor&)>& grad_operand = nullptr) {
  const int64_t rows = groups.rows(), in = cpu.in, out = cpu.out;
  const Tensor x = randn({rows, in}, seed), y0 = randn({rows, out}, seed + 1);
  Tensor y_cpu = add ? y0.clone() : Tensor::zeros({rows, out});
  Tensor y_gpu = add ? on_gpu(y0) : poisoned_gpu({rows, out});
  ops::linear_forward(cpu, operand(x), groups, y_cpu, add);
  ops::linear_forward(gpu, on_gpu(x), groups, y_gpu, add);
  expect_close(y_cpu, y_gpu, kReduction, what + " forward");
  if (!cpu.b.empty()) return;  // the backward has no bias term
  const Tensor dy = randn({rows, out}, seed + 2), dx0 = randn({rows, in}, seed + 3);
  Tensor dx_cpu = add ? dx0.clone() : Tensor::zeros({rows, in});
  Tensor dx_gpu = add ? on_gpu(dx0) : poisoned_gpu({rows, in});
  ops::linear_backward(cpu, (grad_operand ? grad_operand : operand)(dy), groups, dx_cpu, add);
  ops::linear_backward(gpu, on_gpu(dy), groups, dx_gpu, add);
  expect_close(dx_cpu, dx_gpu, kReduction, what + " backward");
}

}  // namespace

// ---- linear --------------------------------------------------------------------------------

TEST(CudaDenseLinear, ForwardAndBackwardMatchCpu) {
  S0_REQUIRE_GPU();
  const ops::Varlen groups{{0, 7, 8, 30, 31, 70}};  // sequences of several rows and of one row
  for (bool bias : {false, true})
    for (bool add : {false, true}) {
      const LinearPair l = make_linear(520, 392, bias, false, 10);
      expect_linear_matches(l.cpu, l.gpu, groups, add, [](const Tensor& t) { return t; },
                            std::string("linear") + (bias ? " bias" : "") + (add ? " add" : ""), 11);
    }
}

// The precise projections accumulate in double on both devices and round to float once (bias and
// the existing output added in double first), so the two agree to within a float rounding.
TEST(CudaDenseLinear, PreciseIsTheDoubleProductRoundedOnce) {
  S0_REQUIRE_GPU();
  const ops::Varlen groups{{0, 150, 300}};
  const int64_t rows = 300, in = 2560, out = 640;
  for (bool bias : {false, true})
    for (bool add : {false, true}) {
      const LinearPair l = make_linear(in, out, bias, true, 20);
      const Tensor x = randn({rows, in}, 21), dy = randn({rows, out}, 22), y0 = randn({rows, out}, 23);
      const Tensor dx0 = randn({rows, in}, 24);
      Tensor y_cpu = add ? y0.clone() : Tensor::zeros({rows, out});
      Tensor y_gpu = add ? on_gpu(y0) : poisoned_gpu({rows, out});
      ops::linear_forward(l.cpu, x, groups, y_cpu, add);
      ops::linear_forward(l.gpu, on_gpu(x), groups, y_gpu, add);
      const std::string variant = std::string(bias ? " bias" : "") + (add ? " add" : "");
      expect_close(y_cpu, y_gpu, kPrecise, "precise linear_forward (k=2560) vs CPU double" + variant);
      Tensor dx_cpu = add ? dx0.clone() : Tensor::zeros({rows, in});
      Tensor dx_gpu = add ? on_gpu(dx0) : poisoned_gpu({rows, in});
      ops::linear_backward(l.cpu, dy, groups, dx_cpu, add);
      ops::linear_backward(l.gpu, on_gpu(dy), groups, dx_gpu, add);
      expect_close(dx_cpu, dx_gpu, kPrecise, "precise linear_backward (k=640) vs CPU double" + variant);
    }
}

TEST(CudaDenseLinear, RepeatsBitForBit) {
  S0_REQUIRE_GPU();
  const ops::Varlen groups{{0, 300, 513}};
  const LinearPair l = make_linear(768, 1024, true, false, 30);
  const Tensor x = on_gpu(randn({513, 768}, 31)), dy = on_gpu(randn({513, 1024}, 32));
  Tensor y[2], dx[2];
  for (int run = 0; run < 2; ++run) {
    y[run] = poisoned_gpu({513, 1024});
    dx[run] = poisoned_gpu({513, 768});
    ops::linear_forward(l.gpu, x, groups, y[run]);
    ops::linear_backward(l.gpu, dy, groups, dx[run]);
  }
  EXPECT_TRUE(same_bits(y[0], y[1]));
  EXPECT_TRUE(same_bits(dx[0], dx[1]));
}

// bf16 weights (the speed mode): the GPU rounds the input rows to bf16 and multiplies on the tensor
// cores with float32 accumulation, so it equals the float32 product of the rounded operands up to
// the summation order. A precise projection splits each input into hi = bf16(x) and lo = bf16(x - hi)
// and adds both products: the product of W and hi + lo; its backward rounds dy to one term.
TEST(CudaDenseLinear, Bf16WeightsGiveTheProductOfRoundedOperands) {
  S0_REQUIRE_GPU();
  // 90 rows: one GEMM per term; 40: the precise terms stacked into one GEMM (bf16_linear.cu); 45 of
  // 642: an operand that is not whole 16-byte quads (the rounding passes' tail).
  for (const auto& [rows, in] : {std::pair<int64_t, int64_t>{90, 640}, {40, 640}, {45, 642}}) {
    const ops::Varlen groups{{0, 5, 6, rows}};
    const std::function<Tensor(const Tensor&)> rounded = [](const Tensor& t) { return t.to_bf16().to_f32(); };
    const std::function<Tensor(const Tensor&)> split_sum = [&](const Tensor& t) {
      const Tensor hi = rounded(t);
      std::vector<float> v(static_cast<size_t>(t.numel()));
      for (size_t i = 0; i < v.size(); ++i) v[i] = hi.f32()[i] + bf16_to_f32(f32_to_bf16(t.f32()[i] - hi.f32()[i]));
      return Tensor::from(t.shape(), v);
    };
    for (bool precise : {false, true})
      for (bool bias : {false, true})
        for (bool add : {false, true}) {
          const LinearPair f = make_linear(in, 328, bias, false, 40);
          const ops::Linear oracle{rounded(f.cpu.w), f.cpu.b, false, f.cpu.in, f.cpu.out};
          const ops::Linear gpu{on_gpu(f.cpu.w.to_bf16()), f.gpu.b, precise, f.cpu.in, f.cpu.out};
          const std::string tag = std::to_string(rows) + " rows of " + std::to_string(in) +
                                  (precise ? " precise" : "") + (bias ? " bias" : "") + (add ? " add" : "");
          expect_linear_matches(oracle, gpu, groups, add, precise ? split_sum : rounded, "bf16 linear " + tag, 41,
                                rounded);
        }
  }
}

// A few rows with bf16 weights (a decode step, up to 4 rows): the GPU multiplies the float32 rows as
// they are (no rounding, no split) by the bf16 weight with float32 accumulation, so the result is the
// float32 product of the unrounded input and the rounded weight, for plain and precise projections
// alike; an output count that is not a multiple of the kernel's four outputs per warp, and rows that
// repeat bit for bit whatever the other rows are.
TEST(CudaDenseLinear, FewRowsWithBf16WeightsMultiplyTheRowsUnrounded) {
  S0_REQUIRE_GPU();
  const std::function<Tensor(const Tensor&)> rounded = [](const Tensor& t) { return t.to_bf16().to_f32(); };
  for (int64_t rows : {1, 3, 4})
    for (bool precise : {false, true})
      for (bool bias : {false, true})
        for (bool add : {false, true}) {
          const LinearPair f = make_linear(640, 330, bias, false, 50);
          const ops::Linear oracle{rounded(f.cpu.w), f.cpu.b, false, f.cpu.in, f.cpu.out};
          const ops::Linear gpu{on_gpu(f.cpu.w.to_bf16()), f.gpu.b, precise, f.cpu.in, f.cpu.out};
          const ops::Varlen groups{{0, rows}};
          const Tensor x = randn({rows, 640}, 51), y0 = randn({rows, 330}, 52);
          Tensor y_cpu = add ? y0.clone() : Tensor::zeros({rows, 330});
          Tensor y_gpu = add ? on_gpu(y0) : poisoned_gpu({rows, 330});
          ops::linear_forward(oracle, x, groups, y_cpu, add);
          ops::linear_forward(gpu, on_gpu(x), groups, y_gpu, add);
          const std::string tag = std::to_string(rows) + " rows" + (precise ? " precise" : "") +
                                  (bias ? " bias" : "") + (add ? " add" : "");
          expect_close(y_cpu, y_gpu, kReduction, "bf16 linear, " + tag);
          if (rows == 1 || add) continue;
          // The first row alone gives, bit for bit, what it gets among the others.
          Tensor y_one = poisoned_gpu({1, 330});
          ops::linear_forward(gpu, on_gpu(rows_of(x, 0, 1)), ops::Varlen{{0, 1}}, y_one, false);
          EXPECT_TRUE(bit_identical(y_one, rows_of(y_gpu, 0, 1))) << tag;
        }
}

// ---- norms ---------------------------------------------------------------------------------

TEST(CudaDenseNorm, RmsNormMatchesCpu) {
  S0_REQUIRE_GPU();
  // A warp's row at 4 and at 8 elements a thread (37 not a multiple of the warp); a block's at 16,
  // with 160 threads (2560, Qwen3.5-4B's hidden size) and 320 (5120, Falcon-H1-34B's).
  for (int64_t d : {37, 200, 2560, 5120}) {
    const int64_t n = 33;
    const std::string tag = " d=" + std::to_string(d);
    const Tensor x = randn({n, d}, 40, 2.0f), w = randn({d}, 41, 0.5f, 1.0f);
    Tensor y_cpu = Tensor::zeros({n, d}), r_cpu = Tensor::zeros({n});
    Tensor y_gpu = poisoned_gpu({n, d}), r_gpu = poisoned_gpu({n});
    ops::rmsnorm_forward(x, w, 1e-6f, y_cpu, r_cpu);
    ops::rmsnorm_forward(on_gpu(x), on_gpu(w), 1e-6f, y_gpu, r_gpu);
    expect_close(y_cpu, y_gpu, kReduction, "rmsnorm_forward y" + tag);
    expect_close(r_cpu, r_gpu, kReduction, "rmsnorm_forward rstd" + tag);

    Tensor x_inplace = on_gpu(x), no_rstd;  // y = x, no rstd wanted
    ops::rmsnorm_forward(x_inplace, on_gpu(w), 1e-6f, x_inplace, no_rstd);
    expect_close(y_cpu, x_inplace, kReduction, "rmsnorm_forward in place" + tag);

    for (bool accumulate : {false, true}) {
      const Tensor dy = randn({n, d}, 42), dx0 = randn({n, d}, 43);
      Tensor dx_cpu = accumulate ? dx0.clone() : Tensor::zeros({n, d});
      Tensor dx_gpu = accumulate ? on_gpu(dx0) : poisoned_gpu({n, d});
      ops::rmsnorm_backward(x, w, r_cpu, dy, dx_cpu, accumulate);
      ops::rmsnorm_backward(on_gpu(x), on_gpu(w), r_gpu, on_gpu(dy), dx_gpu, accumulate);
      expect_close(dx_cpu, dx_gpu, kReduction, "rmsnorm_backward" + tag + (accumulate ? " accumulate" : ""));
    }
  }
}

// The residual stream's gradient with its bf16 copy in the same pass (model/backward.cpp): the copy
// holds exactly the rounding of each dx entry written, and dx is what it is without the copy; a
// warp's rows and a block's (d = 200, 2560), overwritten and accumulated.
TEST(CudaDenseNorm, RmsNormBackwardWritesTheRoundingOfItsResult) {
  S0_REQUIRE_GPU();
  for (int64_t d : {200, 2560}) {
    const int64_t n = 33;
    const Tensor x = on_gpu(randn({n, d}, 60, 2.0f)), w = on_gpu(randn({d}, 61, 0.5f, 1.0f));
    const Tensor dy = on_gpu(randn({n, d}, 62)), dx0 = randn({n, d}, 63);
    Tensor y = poisoned_gpu({n, d}), r = poisoned_gpu({n});
    ops::rmsnorm_forward(x, w, 1e-6f, y, r);
    for (bool accumulate : {false, true}) {
      const std::string tag = " d=" + std::to_string(d) + (accumulate ? " accumulate" : "");
      Tensor plain = accumulate ? on_gpu(dx0) : poisoned_gpu({n, d});
      Tensor fused = accumulate ? on_gpu(dx0) : poisoned_gpu({n, d});
      Tensor rounded = Tensor::empty({n, d}, DType::BF16, Device::cuda(0));
      ops::rmsnorm_backward(x, w, r, dy, plain, accumulate);
      ops::rmsnorm_backward(x, w, r, dy, fused, accumulate, &rounded);
      EXPECT_TRUE(same_bits(plain, fused)) << tag;
      const Tensor values = on_cpu(fused), copy = on_cpu(rounded);
      int64_t wrong = 0;
      for (int64_t i = 0; i < n * d; ++i) wrong += copy.as<uint16_t>()[i] != f32_to_bf16(values.f32()[i]);
      EXPECT_EQ(wrong, 0) << "entries of the bf16 copy that are not dx rounded" << tag;
    }
  }
}

// The per-head norm's backward from and into a projection's column blocks (attention's q and k
// norms): heads read in place, dx written into its block and nowhere else, as the CPU computes it
// through copies (heads of 128 and of 256: a warp's row at 4 and at 8 elements a thread).
TEST(CudaDenseNorm, HeadRmsNormBackwardOnColumnBlocksMatchesCpu) {
  S0_REQUIRE_GPU();
  for (const int64_t d : {128, 256}) {
    const int64_t n = 21, heads = 3, width = 5 + heads * d + 7, begin = 5;
    const std::string tag = " d=" + std::to_string(d);
    const Tensor proj = randn({n, width}, 49, 2.0f), w = randn({d}, 50, 0.5f, 1.0f), dy = randn({n, heads, d}, 51);
    const Tensor x = ops::copy_columns(ops::columns(proj, begin, heads * d)).reshaped({n * heads, d});
    Tensor y = Tensor::zeros({n * heads, d}), rstd = Tensor::zeros({n * heads});
    ops::rmsnorm_forward(x, w, 1e-6f, y, rstd);
    const Tensor fill = randn({n, width}, 52);
    Tensor dproj_cpu = fill.clone(), dproj_gpu = on_gpu(fill);
    ops::rmsnorm_backward(ops::columns(proj, begin, heads * d), w, rstd, dy, ops::columns(dproj_cpu, begin, heads * d));
    ops::rmsnorm_backward(ops::columns(on_gpu(proj), begin, heads * d), on_gpu(w), on_gpu(rstd), on_gpu(dy),
                          ops::columns(dproj_gpu, begin, heads * d));
    expect_close(dproj_cpu, dproj_gpu, kReduction, "head rmsnorm_backward (whole matrix)" + tag);
    const Tensor back = on_cpu(dproj_gpu);
    int64_t touched = 0;
    for (int64_t i = 0; i < n; ++i)
      for (int64_t c = 0; c < width; ++c)
        touched += (c < begin || c >= begin + heads * d) && back.f32()[i * width + c] != fill.f32()[i * width + c];
    EXPECT_EQ(touched, 0) << "written outside its block" << tag;
  }
}

TEST(CudaDenseNorm, RowsLongerThanABlockHoldsAreRefused) {
  S0_REQUIRE_GPU();
  const int64_t d = 8193;
  const Tensor x = on_gpu(randn({2, d}, 47)), w = on_gpu(randn({d}, 48));
  Tensor y = poisoned_gpu({2, d}), r = poisoned_gpu({2});
  try {
    ops::rmsnorm_forward(x, w, 1e-6f, y, r);
    ADD_FAILURE() << "a row of 8193 was normalised";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("rows of at most 8192"), std::string::npos) << e.what();
  }
}

TEST(CudaDenseNorm, RmsNormRepeatsBitForBit) {
  S0_REQUIRE_GPU();
  const Tensor x = on_gpu(randn({257, 2560}, 44)), w = on_gpu(randn({2560}, 45)), dy = on_gpu(randn({257, 2560}, 46));
  Tensor y[2], r[2], dx[2];
  for (int run = 0; run < 2; ++run) {
    y[run] = poisoned_gpu({257, 2560});
    r[run] = poisoned_gpu({257});
    dx[run] = poisoned_gpu({257, 2560});
    ops::rmsnorm_forward(x, w, 1e-6f, y[run], r[run]);
    ops::rmsnorm_backward(x, w, r[run], dy, dx[run], false);
  }
  EXPECT_TRUE(same_bits(y[0], y[1]));
  EXPECT_TRUE(same_bits(r[0], r[1]));
  EXPECT_TRUE(same_bits(dx[0], dx[1]));
}

class CudaDenseGatedNorm : public ::testing::TestWithParam<ops::GateOrder> {};

// z is a column block inside a wider projection, and dz goes into the same block of its gradient:
// the kernels must honour the row stride and leave the other columns as they were.
TEST_P(CudaDenseGatedNorm, MatchesCpu) {
  S0_REQUIRE_GPU();
  const ops::GateOrder order = GetParam();
  const bool normed = order != ops::GateOrder::GateOnly;
  const std::string base_tag = " order=" + std::to_string(static_cast<int>(order));
  // A warp's group (not a multiple of the warp); a block's of one warp and of six (Falcon-H1-7B's
  // Mamba-2 gated norm, one group of 3072).
  for (int64_t group : {100, 300, 3072}) {
    const std::string tag = base_tag + " group=" + std::to_string(group);
    const int64_t n = 9, d = 3 * group;
    const int64_t width = d + 13, begin = 6;
    const Tensor y = randn({n, d}, 50), proj = randn({n, width}, 51, 2.0f), proj_gpu = on_gpu(proj);
    const ops::Columns z = ops::columns(proj, begin, d), z_gpu = ops::columns(proj_gpu, begin, d);
    const Tensor w = normed ? randn({d}, 52, 0.5f, 1.0f) : Tensor();
    Tensor out_cpu = Tensor::zeros({n, d}), out_gpu = poisoned_gpu({n, d});
    Tensor r_cpu = normed ? Tensor::zeros({n * 3}) : Tensor(), r_gpu = normed ? poisoned_gpu({n * 3}) : Tensor();
    ops::gated_rmsnorm_forward(y, z, w, group, 1e-6f, order, out_cpu, r_cpu);
    ops::gated_rmsnorm_forward(on_gpu(y), z_gpu, on_gpu(w), group, 1e-6f, order, out_gpu, r_gpu);
    expect_close(out_cpu, out_gpu, kReduction, "gated_rmsnorm_forward" + tag);
    if (normed) expect_close(r_cpu, r_gpu, kReduction, "gated_rmsnorm_forward rstd" + tag);

    const Tensor dout = randn({n, d}, 53);
    const Tensor dproj0 = randn({n, width}, 54);
    Tensor dy_cpu = Tensor::zeros({n, d}), dproj_cpu = dproj0.clone();
    Tensor dy_gpu = poisoned_gpu({n, d}), dproj_gpu = on_gpu(dproj0);
    ops::gated_rmsnorm_backward(y, z, w, r_cpu, dout, group, order, dy_cpu, ops::columns(dproj_cpu, begin, d));
    ops::gated_rmsnorm_backward(on_gpu(y), z_gpu, on_gpu(w), r_gpu, on_gpu(dout), group, order, dy_gpu,
                                ops::columns(dproj_gpu, begin, d));
    expect_close(dy_cpu, dy_gpu, kReduction, "gated_rmsnorm_backward dy" + tag);
    expect_close(dproj_cpu, dproj_gpu, kReduction, "gated_rmsnorm_backward dz (whole matrix)" + tag);
  }
}

INSTANTIATE_TEST_SUITE_P(CudaOrders, CudaDenseGatedNorm,
                         ::testing::Values(ops::GateOrder::NormThenGate, ops::GateOrder::GateThenNorm,
                                           ops::GateOrder::GateOnly));

// Three heads side by side in a column block of a wider projection, read in place; the gradient goes
// into the same block of a wider matrix, whose other columns must stay as they were.
TEST(CudaDenseNorm, L2NormOfHeadsInColumnsMatchesCpu) {
  S0_REQUIRE_GPU();
  const int64_t n = 40, d = 128, heads = 3, width = heads * d + 21, begin = 9;
  const Tensor proj = randn({n, width}, 60), proj_gpu = on_gpu(proj), dy = randn({n * heads, d}, 61);
  const ops::Columns x = ops::columns(proj, begin, heads * d), x_gpu = ops::columns(proj_gpu, begin, heads * d);
  Tensor y_cpu = Tensor::zeros({n * heads, d}), r_cpu = Tensor::zeros({n * heads});
  Tensor y_gpu = poisoned_gpu({n * heads, d}), r_gpu = poisoned_gpu({n * heads});
  ops::l2norm_forward(x, d, 1e-6f, y_cpu, r_cpu);
  ops::l2norm_forward(x_gpu, d, 1e-6f, y_gpu, r_gpu);
  expect_close(y_cpu, y_gpu, kReduction, "l2norm_forward y");
  expect_close(r_cpu, r_gpu, kReduction, "l2norm_forward rnorm");
  const Tensor dproj0 = randn({n, width}, 62);
  Tensor dproj_cpu = dproj0.clone(), dproj_gpu = on_gpu(dproj0);
  ops::l2norm_backward(x, r_cpu, dy, d, ops::columns(dproj_cpu, begin, heads * d));
  ops::l2norm_backward(x_gpu, r_gpu, on_gpu(dy), d, ops::columns(dproj_gpu, begin, heads * d));
  expect_close(dproj_cpu, dproj_gpu, kReduction, "l2norm_backward (whole matrix)");
}

// ---- activations and gates -----------------------------------------------------------------

TEST(CudaDenseActivation, SwigluMatchesCpu) {
  S0_REQUIRE_GPU();
  for (int64_t inter : {300, 301}) {  // four columns a thread; one (rows not whole quads)
    const std::string tag = " inter=" + std::to_string(inter);
    const int64_t n = 17;
    const Tensor gu = randn({n, 2 * inter}, 70, 3.0f), dh = randn({n, inter}, 71);
    Tensor h_cpu = Tensor::zeros({n, inter}), h_gpu = poisoned_gpu({n, inter});
    ops::swiglu_forward(gu, h_cpu);
    ops::swiglu_forward(on_gpu(gu), h_gpu);
    expect_close(h_cpu, h_gpu, kElementwise, "swiglu_forward" + tag);
    Tensor dgu_cpu = Tensor::zeros({n, 2 * inter}), dgu_gpu = poisoned_gpu({n, 2 * inter});
    ops::swiglu_backward(gu, dh, dgu_cpu);
    ops::swiglu_backward(on_gpu(gu), on_gpu(dh), dgu_gpu);
    expect_close(dgu_cpu, dgu_gpu, kElementwise, "swiglu_backward" + tag);
  }
}

TEST(CudaDenseActivation, ReluSquaredMatchesCpu) {
  S0_REQUIRE_GPU();
  const int64_t n = 17, inter = 300;
  const Tensor u = randn({n, inter}, 72, 2.0f), dh = randn({n, inter}, 73);
  Tensor h_cpu = Tensor::zeros({n, inter}), h_gpu = poisoned_gpu({n, inter});
  ops::relu2_forward(u, h_cpu);
  ops::relu2_forward(on_gpu(u), h_gpu);
  expect_close(h_cpu, h_gpu, kElementwise, "relu2_forward");
  Tensor du_cpu = Tensor::zeros({n, inter}), du_gpu = poisoned_gpu({n, inter});
  ops::relu2_backward(u, dh, du_cpu);
  ops::relu2_backward(on_gpu(u), on_gpu(dh), du_gpu);
  expect_close(du_cpu, du_gpu, kElementwise, "relu2_backward");
}

// The gate is a column block inside a wider projection: the kernels must honour its row stride and
// leave the other columns of the gradient matrix as they were.
TEST(CudaDenseActivation, SigmoidGateOnColumnsMatchesCpu) {
  S0_REQUIRE_GPU();
  const int64_t n = 13, d = 96, width = 2 * d + 11, begin = 5;
  const Tensor proj = randn({n, width}, 72, 3.0f), o = randn({n, d}, 73), dout = randn({n, d}, 74);
  const Tensor proj_gpu = on_gpu(proj);
  Tensor out_cpu = Tensor::zeros({n, d}), out_gpu = poisoned_gpu({n, d});
  ops::sigmoid_gate_forward(o, ops::columns(proj, begin, d), out_cpu);
  ops::sigmoid_gate_forward(on_gpu(o), ops::columns(proj_gpu, begin, d), out_gpu);
  expect_close(out_cpu, out_gpu, kElementwise, "sigmoid_gate_forward");

  const Tensor dproj0 = randn({n, width}, 75);
  Tensor dproj_cpu = dproj0.clone(), dproj_gpu = on_gpu(dproj0);
  Tensor do_cpu = dout.clone(), do_gpu = on_gpu(dout);  // in place: d_out becomes the gradient to o
  ops::sigmoid_gate_backward(o, ops::columns(proj, begin, d), do_cpu, ops::columns(dproj_cpu, begin, d));
  ops::sigmoid_gate_backward(on_gpu(o), ops::columns(proj_gpu, begin, d), do_gpu, ops::columns(dproj_gpu, begin, d));
  expect_close(do_cpu, do_gpu, kElementwise, "sigmoid_gate_backward d_o");
  expect_close(dproj_cpu, dproj_gpu, kElementwise, "sigmoid_gate_backward dgate (whole matrix)");
}

TEST(CudaDenseGates, GatedDeltaGatesMatchCpu) {
  S0_REQUIRE_GPU();
  const int64_t n = 29, H = 32, width = 3 * H + 7;
  const Tensor proj = randn({n, width}, 80, 4.0f), proj_gpu = on_gpu(proj);
  const Tensor neg_A = randn({H}, 81, 0.5f, -1.0f), dt_bias = randn({H}, 82, 2.0f);  // a + dt_bias past 20 too
  auto b = [&](const Tensor& t) { return ops::columns(t, 3, H); };
  auto a = [&](const Tensor& t) { return ops::columns(t, 3 + H + 2, H); };
  Tensor beta_cpu = Tensor::zeros({n, H}), g_cpu = Tensor::zeros({n, H});
  Tensor beta_gpu = poisoned_gpu({n, H}), g_gpu = poisoned_gpu({n, H});
  ops::gated_delta_gates_forward(b(proj), a(proj), neg_A, dt_bias, beta_cpu, g_cpu);
  ops::gated_delta_gates_forward(b(proj_gpu), a(proj_gpu), on_gpu(neg_A), on_gpu(dt_bias), beta_gpu, g_gpu);
  expect_close(beta_cpu, beta_gpu, kElementwise, "gated_delta_gates_forward beta");
  expect_close(g_cpu, g_gpu, kElementwise, "gated_delta_gates_forward g");

  const Tensor dbeta = randn({n, H}, 83), dg = randn({n, H}, 84), dproj0 = randn({n, width}, 85);
  Tensor dproj_cpu = dproj0.clone(), dproj_gpu = on_gpu(dproj0);
  ops::gated_delta_gates_backward(a(proj), neg_A, dt_bias, beta_cpu, dbeta, dg, b(dproj_cpu), a(dproj_cpu));
  ops::gated_delta_gates_backward(a(proj_gpu), on_gpu(neg_A), on_gpu(dt_bias), beta_gpu, on_gpu(dbeta), on_gpu(dg),
                                  b(dproj_gpu), a(dproj_gpu));
  expect_close(dproj_cpu, dproj_gpu, kElementwise, "gated_delta_gates_backward db, da (whole matrix)");
}

TEST(CudaDenseGates, Mamba2DtMatchesCpu) {
  S0_REQUIRE_GPU();
  const int64_t n = 31, H = 24, width = H + 9, begin = 4;
  const float dt_min = 0.05f, dt_max = 3.0f;  // inputs spread wide enough to clamp at both ends
  const Tensor proj = randn({n, width}, 90, 4.0f), proj_gpu = on_gpu(proj), dt_bias = randn({H}, 91);
  Tensor dt_cpu = Tensor::zeros({n, H}), dt_gpu = poisoned_gpu({n, H});
  ops::mamba2_dt_forward(ops::columns(proj, begin, H), dt_bias, dt_min, dt_max, dt_cpu);
  ops::mamba2_dt_forward(ops::columns(proj_gpu, begin, H), on_gpu(dt_bias), dt_min, dt_max, dt_gpu);
  expect_close(dt_cpu, dt_gpu, kElementwise, "mamba2_dt_forward");

  const Tensor ddt = randn({n, H}, 92), dproj0 = randn({n, width}, 93);
  Tensor dproj_cpu = dproj0.clone(), dproj_gpu = on_gpu(dproj0);
  ops::mamba2_dt_backward(ops::columns(proj, begin, H), dt_bias, dt_min, dt_max, ddt,
                          ops::columns(dproj_cpu, begin, H));
  ops::mamba2_dt_backward(ops::columns(proj_gpu, begin, H), on_gpu(dt_bias), dt_min, dt_max, on_gpu(ddt),
                          ops::columns(dproj_gpu, begin, H));
  expect_close(dproj_cpu, dproj_gpu, kElementwise, "mamba2_dt_backward (whole matrix)");
}

// ---- heads, rows, columns ------------------------------------------------------------------

// GatedDeltaNet's queries and keys: key heads in a column block of a wider projection, normalised and
// expanded to twice as many value heads in one pass (a warp per head of 128, a block per head of
// 300); the gradient sums the copies back into the same block of a wider matrix.
TEST(CudaDenseHeads, L2NormExpandHeadsMatchesCpu) {
  S0_REQUIRE_GPU();
  for (int64_t d : {128, 300}) {
    const std::string tag = " d=" + std::to_string(d);
    const int64_t n = 41, nk = 3, nv = 6, width = nk * d + 21, begin = 9;
    const Tensor proj = randn({n, width}, 102), proj_gpu = on_gpu(proj), dy = randn({n, nv, d}, 103);
    const ops::Columns x = ops::columns(proj, begin, nk * d), x_gpu = ops::columns(proj_gpu, begin, nk * d);
    Tensor r_cpu = Tensor::zeros({n * nk}), r_gpu = poisoned_gpu({n * nk});
    const Tensor y_cpu = ops::l2norm_expand_heads(x, nk, nv, 1e-6f, 0.3f, r_cpu);
    const Tensor y_gpu = ops::l2norm_expand_heads(x_gpu, nk, nv, 1e-6f, 0.3f, r_gpu);
    expect_close(y_cpu, y_gpu, kReduction, "l2norm_expand_heads" + tag);
    expect_close(r_cpu, r_gpu, kReduction, "l2norm_expand_heads rnorm" + tag);
    const Tensor dproj0 = randn({n, width}, 104);
    Tensor dproj_cpu = dproj0.clone(), dproj_gpu = on_gpu(dproj0);
    ops::l2norm_expand_heads_backward(x, r_cpu, dy, nk, 0.3f, ops::columns(dproj_cpu, begin, nk * d));
    ops::l2norm_expand_heads_backward(x_gpu, r_gpu, on_gpu(dy), nk, 0.3f, ops::columns(dproj_gpu, begin, nk * d));
    expect_close(dproj_cpu, dproj_gpu, kReduction, "l2norm_expand_heads_backward (whole matrix)" + tag);
  }
}

TEST(CudaDenseRows, GatherScatterAndScaleMatchCpu) {
  S0_REQUIRE_GPU();
  const int64_t vocab = 50, d = 72;
  const std::vector<int64_t> index{7, 3, 7, 49, 0, 3, 7, 12, 12, 3};  // repeats: scatter-add must sum them
  const Tensor table = randn({vocab, d}, 110), table_gpu = on_gpu(table);
  expect_close(ops::gather_rows(table, index, 1.5f), ops::gather_rows(table_gpu, index, 1.5f), kElementwise,
               "gather_rows");
  // A bf16 table (the embedding of a bf16 model) gives its values widened, exactly.
  const Tensor rows16 = ops::gather_rows(on_gpu(table.to_bf16()), index, 1.5f);
  EXPECT_EQ(rows16.dtype(), DType::F32);
  EXPECT_TRUE(same_bits(ops::gather_rows(table.to_bf16().to_f32(), index, 1.5f), rows16)) << "bf16 gather_rows";
  // Ids on the GPU (a decode step's, taken from the tokens the step before chose there) gather the same rows.
  Tensor chosen = Tensor::empty({4}, DType::I64);
  for (int64_t i = 0; i < 4; ++i) static_cast<int64_t*>(chosen.raw_mut())[i] = index[static_cast<size_t>(i)];
  std::vector<int64_t> kept = index, take(index.size(), -1);
  kept[1] = kept[6] = -1;
  take[1] = 1;  // index[1]
  take[6] = 0;  // index[0] = index[6]
  const Tensor ids = ops::take_or_keep_i64(kept, on_gpu(chosen), take);
  EXPECT_EQ(ids.device(), table_gpu.device());
  EXPECT_EQ(ids.to(Device::cpu()).to_i64(), index);
  EXPECT_TRUE(same_bits(ops::gather_rows(table_gpu, ids, 1.5f), ops::gather_rows(table_gpu, index, 1.5f)))
      << "gather_rows by ids on the GPU";

  const Tensor src = randn({static_cast<int64_t>(index.size()), d}, 111), dst0 = randn({vocab, d}, 112);
  Tensor dst_cpu = dst0.clone(), dst_gpu[2] = {on_gpu(dst0), on_gpu(dst0)};
  ops::scatter_add_rows(src, index, 0.7f, dst_cpu);
  for (Tensor& t : dst_gpu) ops::scatter_add_rows(on_gpu(src), index, 0.7f, t);
  expect_close(dst_cpu, dst_gpu[0], kElementwise, "scatter_add_rows");
  EXPECT_TRUE(same_bits(dst_gpu[0], dst_gpu[1])) << "scatter_add_rows repeats bit for bit";

  Tensor x_cpu = src.clone(), x_gpu = on_gpu(src);
  ops::scale_(x_cpu, -2.5f);
  ops::scale_(x_gpu, -2.5f);
  expect_close(x_cpu, x_gpu, kElementwise, "scale_");

  // add_: the same float additions per cell in the same order, so the GPU's sum is the CPU's bit
  // for bit, and several sources in one call are the adds one after another.
  Tensor sum_cpu = dst0.clone(), sum_gpu = on_gpu(dst0);
  ops::add_(sum_cpu, {dst_cpu, dst0, dst_cpu});
  ops::add_(sum_gpu, {on_gpu(dst_cpu), on_gpu(dst0), on_gpu(dst_cpu)});
  EXPECT_TRUE(same_bits(sum_cpu, sum_gpu)) << "add_";
  EXPECT_EQ(sum_cpu.f32()[5], ((dst0.f32()[5] + dst_cpu.f32()[5]) + dst0.f32()[5]) + dst_cpu.f32()[5]);
}

TEST(CudaDenseColumns, CopyAndScatterHonourStrides) {
  S0_REQUIRE_GPU();
  // Rows, offset and count that are whole quads (four floats a thread) and that are not.
  for (const auto& [width, begin, count] : {std::tuple<int64_t, int64_t, int64_t>{301, 37, 130}, {304, 36, 132}}) {
    const std::string tag = " width=" + std::to_string(width);
    const int64_t n = 19;
    const Tensor m = randn({n, width}, 120), m_gpu = on_gpu(m);
    expect_close(ops::copy_columns(ops::columns(m, begin, count)),
                 ops::copy_columns(ops::columns(m_gpu, begin, count)), 0.0, "copy_columns" + tag);
    const Tensor block = randn({n, count}, 121);
    Tensor dst_cpu = m.clone(), dst_gpu = on_gpu(m);
    ops::scatter_columns(block, ops::columns(dst_cpu, begin, count));
    ops::scatter_columns(on_gpu(block), ops::columns(dst_gpu, begin, count));
    expect_close(dst_cpu, dst_gpu, 0.0, "scatter_columns (whole matrix)" + tag);
  }
}

// ---- dispatch ------------------------------------------------------------------------------

TEST(CudaDenseDispatch, MixedDevicesAndDtypesFailClearly) {
  S0_REQUIRE_GPU();
  const LinearPair l = make_linear(8, 4, false, false, 130);
  const Tensor x = randn({3, 8}, 131);
  Tensor y = Tensor::zeros({3, 4});
  EXPECT_EQ(error_of([&] { ops::linear_forward(l.gpu, x, ops::Varlen{{0, 3}}, y); }),
            "internal: op linear has tensors on cuda:0 and cpu");
  Tensor bf16 = Tensor::zeros({4}, DType::BF16, Device::cuda(0)), r;
  Tensor out = poisoned_gpu({1, 4});
  EXPECT_EQ(error_of([&] { ops::rmsnorm_forward(on_gpu(randn({1, 4}, 132)), bf16, 1e-6f, out, r); }),
            "internal: the CUDA backend computes in f32 but got a BF16 tensor of shape [4]");
}

// ---- mixture of experts ---------------------------------------------------------------------

namespace {

// A router must choose the same experts on both devices, which compute in double and round once;
// route(on_gpu) routes the test's logits on the GPU or the CPU.
void expect_router_matches_cpu(const std::function<ops::Routing(bool on_gpu)>& route, const Tensor& dw) {
  const ops::Routing c = route(false), g = route(true);
  EXPECT_EQ(c.experts, g.experts);
  expect_close(c.probs, g.probs, kPrecise, "router scores");
  expect_close(c.weights, g.weights, kPrecise, "router weights");
  const Shape shape = c.probs.shape();
  Tensor dc = Tensor::zeros(shape), dg = poisoned_gpu(shape);
  ops::route_top_k_backward(c, dw, dc);
  ops::route_top_k_backward(g, on_gpu(dw), dg);
  expect_close(dc, dg, kPrecise, "router backward");
}

}  // namespace

TEST(CudaMoe, RouterMatchesCpu) {
  S0_REQUIRE_GPU();
  const int64_t N = 300, E = 64, k = 8;
  const Tensor logits = randn({N, E}, 71, 2.0f), dw = randn({N, k}, 72);
  for (bool normalize : {false, true})
    expect_router_matches_cpu(
        [&](bool gpu) { return ops::route_top_k(gpu ? on_gpu(logits) : logits, k, normalize); }, dw);
}

// The sigmoid router with groups (Nemotron-H).
TEST(CudaMoe, SigmoidGroupedRouterMatchesCpu) {
  S0_REQUIRE_GPU();
  const int64_t N = 300, E = 64, k = 6;
  const Tensor logits = randn({N, E}, 79, 2.0f), bias = randn({E}, 80, 0.3f), dw = randn({N, k}, 81);
  const ops::GroupedTopK groups{8, 3, 2.5};
  for (bool normalize : {false, true})
    expect_router_matches_cpu(
        [&](bool gpu) {
          return ops::route_sigmoid_grouped(gpu ? on_gpu(logits) : logits, gpu ? on_gpu(bias) : bias, k, normalize,
                                            groups);
        },
        dw);
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
  expect_close(oc, og, kElementwise, "weighted_rows_add");
  Tensor dyc = Tensor::zeros({n, d}), dwc = Tensor::zeros({N, k});
  Tensor dyg = poisoned_gpu({n, d}), dwg = on_gpu(Tensor::zeros({N, k}));
  ops::weighted_rows_add_backward(y, rows, w, slots, d_out, dyc, dwc);
  ops::weighted_rows_add_backward(on_gpu(y), rows, on_gpu(w), slots, on_gpu(d_out), dyg, dwg);
  expect_close(dyc, dyg, kElementwise, "weighted_rows_add backward dy");
  expect_close(dwc, dwg, kReduction, "weighted_rows_add backward d_weights");

  const Tensor ys = randn({N, d}, 77), gate = randn({N, 1}, 78, 2.0f);
  Tensor sc = base.clone(), sg = on_gpu(base);
  ops::sigmoid_row_gate(ys, gate, sc);
  ops::sigmoid_row_gate(on_gpu(ys), on_gpu(gate), sg);
  expect_close(sc, sg, kElementwise, "sigmoid_row_gate");
  Tensor dys = Tensor::zeros({N, d}), dgs = Tensor::zeros({N, 1}), dyg2 = poisoned_gpu({N, d}),
         dgg = poisoned_gpu({N, 1});
  ops::sigmoid_row_gate_backward(ys, gate, d_out, dys, dgs);
  ops::sigmoid_row_gate_backward(on_gpu(ys), on_gpu(gate), on_gpu(d_out), dyg2, dgg);
  expect_close(dys, dyg2, kElementwise, "sigmoid_row_gate backward dy");
  expect_close(dgs, dgg, kReduction, "sigmoid_row_gate backward dgate");
}
