// The few-row bf16 GEMV (ops/cuda/bf16_gemv.cuh): the persistent kernels, whatever their depth of
// loads in flight, give the reference kernel's bits (one block a unit, one step of W in flight: the
// summation order every output keeps). Shapes with out not a multiple of a block's outputs, in not a
// multiple of 256 (lanes without a last piece), a row too short for its split (warps without any
// piece), more units than the GPU holds (blocks taking several), rows 1 to 4, with and without bias
// and add, and SwiGLU's pairing (gu and h). GPU only.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <utility>
#include <vector>

#include "gpu_test_inputs.h"
#include "support/test_support.h"
#if S0_HAVE_CUDA
#include "ops/cuda/bf16_gemv.cuh"
#include "ops/cuda/linear.h"
#endif

using namespace s0;
using test::bit_identical;
using test::on_gpu;
using test::uniform;

#if S0_HAVE_CUDA
namespace {

using ops::cuda::GemvKernel;

const float* f32(const Tensor& t) { return t.empty() ? nullptr : static_cast<const float*>(t.device_raw()); }
float* f32_mut(Tensor& t) { return t.empty() ? nullptr : static_cast<float*>(t.device_raw_mut()); }

struct Product {
  int64_t in, out, units;  // units > 0: W = [gate; up], out = 2 units
};

std::string describe(const Product& p, int64_t rows, bool bias, bool add, GemvKernel kernel) {
  return "in " + std::to_string(p.in) + ", out " + std::to_string(p.out) + ", units " + std::to_string(p.units) +
         ", " + std::to_string(rows) + " rows" + (bias ? ", bias" : "") + (add ? ", add" : "") + ", kernel " +
         std::to_string(static_cast<int>(kernel));
}

void expect_reference_bits(const Product& p, std::mt19937& rng) {
  const Tensor w = on_gpu(uniform({p.out, p.in}, -0.1f, 0.1f, rng).to_bf16());
  for (int64_t rows = 1; rows <= ops::cuda::kGemvMaxRows; ++rows)
    for (bool bias_on : {false, true})
      for (bool add : {false, true}) {
        if (p.units > 0 && add) continue;  // the pairing writes gu whole
        const Tensor x = on_gpu(uniform({rows, p.in}, -2, 2, rng));
        const Tensor bias = bias_on ? on_gpu(uniform({p.out}, -1, 1, rng)) : Tensor();
        const Tensor y0 = uniform({rows, p.out}, -3, 3, rng), h0 = uniform({rows, std::max<int64_t>(p.units, 1)}, -3, 3, rng);
        Tensor y_ref = on_gpu(y0), h_ref = on_gpu(h0);
        ops::cuda::bf16_gemv_with(GemvKernel::reference, f32(x), rows, w.device_raw(), f32(bias), p.in, p.out,
                                  f32_mut(y_ref), add, p.units, p.units > 0 ? f32_mut(h_ref) : nullptr);
        for (GemvKernel kernel : {GemvKernel::stream2, GemvKernel::stream3}) {
          Tensor y = on_gpu(y0), h = on_gpu(h0);
          ops::cuda::bf16_gemv_with(kernel, f32(x), rows, w.device_raw(), f32(bias), p.in, p.out, f32_mut(y), add,
                                    p.units, p.units > 0 ? f32_mut(h) : nullptr);
          EXPECT_TRUE(bit_identical(y, y_ref)) << describe(p, rows, bias_on, add, kernel) << ": y";
          if (p.units > 0) {
            EXPECT_TRUE(bit_identical(h, h_ref)) << describe(p, rows, bias_on, add, kernel) << ": h";
          }
        }
        if (p.units == 0) {  // the entry the linear layers call
          Tensor y = on_gpu(y0);
          ops::cuda::bf16_gemv(f32(x), rows, w.device_raw(), f32(bias), p.in, p.out, f32_mut(y), add);
          EXPECT_TRUE(bit_identical(y, y_ref)) << describe(p, rows, bias_on, add, ops::cuda::gemv_kernel_for(rows)) << ": bf16_gemv";
        } else {
          Tensor y = on_gpu(y0), h = on_gpu(h0);
          ops::cuda::bf16_linear_swiglu_forward(f32(x), rows, w.device_raw(), f32(bias), p.in, p.units, f32_mut(y),
                                                f32_mut(h));
          EXPECT_TRUE(bit_identical(y, y_ref) && bit_identical(h, h_ref))
              << describe(p, rows, bias_on, add, ops::cuda::gemv_kernel_for(rows)) << ": bf16_linear_swiglu_forward";
        }
      }
}

}  // namespace
#endif

TEST(CudaGemv, PersistentKernelsGiveTheReferenceBits) {
  S0_REQUIRE_GPU();
#if S0_HAVE_CUDA
  std::mt19937 rng(29);
  const std::vector<Product> products = {
      {2560, 2560, 0},    // split 4, 640 units: the 4B model's down and output projections' width
      {9216, 2560, 0},    // split 4, 36 pieces a lane
      {2560, 12352, 0},   // split 2
      {2560, 18432, 0},   // split 1, more units than one round on most GPUs
      {1000, 1002, 0},    // in not a multiple of 256, out not of the block's outputs
      {200, 4099, 0},     // 25 pieces a row: lanes without any
      {520, 300, 0},      // split 4 over 65 pieces: the fourth warp has none
      {264, 50003, 0},    // 12,501 units: blocks take several, the last group partial
      {2560, 2 * 640, 640},    // the pairing, split 4 (each group gate and up rows)
      {256, 2 * 4608, 4608},   // the pairing, four groups a block
      {264, 2 * 1000, 1000},   // the pairing, split 2, in not a multiple of 256
  };
  for (const Product& p : products) {
    if (p.units > 0) {
      ASSERT_TRUE(ops::cuda::bf16_swiglu_fits(1, p.in, p.units)) << p.in << " x " << p.units;
    }
    expect_reference_bits(p, rng);
  }
#endif
}
