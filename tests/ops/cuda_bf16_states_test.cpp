// The step kernels' bf16 states (ops/carried_state.h): a decode step whose sequences carry bf16
// states gives, bit for bit, the outputs of the same step over their float32 widening, and leaves
// each state as that step's float32 result rounded to nearest even. For the gated delta rule's
// narrow and wide tiles (a few sequences, and enough of them for 128-column items), keys wider than
// a block's rows, rows whose length is no multiple of 16 bytes' bf16, and an odd number of columns
// (read and written one element at a time); and for SSD. Skipped without a GPU.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "gpu_compare.h"
#include "gpu_test_inputs.h"
#include "ops/bf16_cast.h"
#include "ops/gated_delta.h"
#include "ops/ssd.h"

namespace s0::test {
namespace {

using ops::SequenceStart;

struct StepCase {
  const char* name;
  int64_t H, dk, dv, n_seqs;
};

void PrintTo(const StepCase& c, std::ostream* os) { *os << c.name; }

// Random bf16 states, one per sequence, on the GPU.
std::vector<Tensor> bf16_states(const Shape& shape, int64_t n, std::mt19937& rng) {
  std::vector<Tensor> out;
  for (int64_t s = 0; s < n; ++s) out.push_back(on_gpu(uniform(shape, -2.0f, 2.0f, rng).to_bf16()));
  return out;
}

// Starts over the caches, every one carrying its state in `dtype`.
std::vector<SequenceStart> carrying(std::vector<Tensor>& caches, DType dtype) {
  std::vector<SequenceStart> starts(caches.size());
  for (size_t s = 0; s < caches.size(); ++s) {
    starts[s].carried = &caches[s];
    starts[s].carried_dtype = dtype;
  }
  return starts;
}

std::vector<Tensor> widened(const std::vector<Tensor>& states) {
  std::vector<Tensor> out;
  for (const Tensor& t : states) out.push_back(ops::widened_from_bf16(t));
  return out;
}

// The step `run(starts, out)` over bf16 caches against the same over their float32 widening.
template <typename Run>
void expect_rounded_float32_step(const std::vector<Tensor>& start, const Run& run, const std::string& what) {
  std::vector<Tensor> narrow;
  for (const Tensor& t : start) narrow.push_back(t.clone());
  std::vector<Tensor> wide = widened(start);
  const Tensor* first = &narrow[0];
  const void* address = narrow[0].device_raw();
  const Tensor out_bf16 = run(carrying(narrow, DType::BF16));
  const Tensor out_f32 = run(carrying(wide, DType::F32));
  EXPECT_TRUE(bit_identical(out_bf16, out_f32)) << what << ": output";
  EXPECT_EQ(first->device_raw(), address) << what << ": a decode step updates the cache in place";
  for (size_t s = 0; s < narrow.size(); ++s) {
    ASSERT_EQ(narrow[s].dtype(), DType::BF16) << what;
    EXPECT_TRUE(bit_identical(narrow[s], ops::rounded_to_bf16(wide[s]))) << what << ": state " << s;
  }
  EXPECT_FALSE(bit_identical(ops::widened_from_bf16(narrow[0]), wide[0])) << what << ": nothing was rounded";
}

class CudaBf16States : public ::testing::TestWithParam<StepCase> {};

void expect_gated_delta_step_rounded(const StepCase& c) {
  std::mt19937 rng(3);
  const int64_t N = c.n_seqs;
  const Tensor q = on_gpu(unit_rows({N, c.H, c.dk}, 0.3f, rng)), k = on_gpu(unit_rows({N, c.H, c.dk}, 1.0f, rng));
  const Tensor v = on_gpu(uniform({N, c.H, c.dv}, -1, 1, rng)), g = on_gpu(uniform({N, c.H}, -1.0f, -0.01f, rng));
  const Tensor beta = on_gpu(uniform({N, c.H}, 0.1f, 0.9f, rng));
  const Varlen seqs = packed(std::vector<int64_t>(static_cast<size_t>(N), 1));
  expect_rounded_float32_step(
      bf16_states({c.H, c.dk, c.dv}, N, rng),
      [&](const std::vector<SequenceStart>& starts) {
        Tensor o = Tensor::empty({N, c.H, c.dv}, DType::F32, Device::cuda(0));
        ops::gated_delta_forward(q, k, v, g, beta, seqs, starts, o, nullptr);
        return o;
      },
      c.name);
}

TEST_P(CudaBf16States, GatedDeltaStepIsTheFloat32StepRounded) {
  S0_REQUIRE_GPU();
  expect_gated_delta_step_rounded(GetParam());
}

// Pieces of a row that an odd width leaves unpaired: bf16 columns taken one at a time out of and
// into their 32-bit words, in narrow and wide tiles.
TEST(CudaBf16GatedDeltaStep, OddColumnsAreTheFloat32StepRounded) {
  S0_REQUIRE_GPU();
  expect_gated_delta_step_rounded({"narrow_odd_columns", 4, 32, 37, 5});
  expect_gated_delta_step_rounded({"wide_odd_columns", 2, 64, 131, 70});
}

TEST_P(CudaBf16States, SsdStepIsTheFloat32StepRounded) {
  S0_REQUIRE_GPU();
  const StepCase& c = GetParam();  // dk as the state's rows P, dv as its width Ns
  std::mt19937 rng(5);
  const int64_t N = c.n_seqs, G = 1;
  const Tensor x = on_gpu(uniform({N, c.H, c.dk}, -1, 1, rng)), dt = on_gpu(uniform({N, c.H}, 0.01f, 0.5f, rng));
  const Tensor A = on_gpu(uniform({c.H}, -2.0f, -0.1f, rng)), D = on_gpu(uniform({c.H}, -1, 1, rng));
  const Tensor B = on_gpu(uniform({N, G, c.dv}, -1, 1, rng)), C = on_gpu(uniform({N, G, c.dv}, -1, 1, rng));
  const Varlen seqs = packed(std::vector<int64_t>(static_cast<size_t>(N), 1));
  expect_rounded_float32_step(
      bf16_states({c.H, c.dk, c.dv}, N, rng),
      [&](const std::vector<SequenceStart>& starts) {
        Tensor y = Tensor::empty({N, c.H, c.dk}, DType::F32, Device::cuda(0));
        ops::ssd_forward(x, dt, A, B, C, D, seqs, starts, y, nullptr);
        return y;
      },
      c.name);
}

INSTANTIATE_TEST_SUITE_P(Shapes, CudaBf16States,
                         ::testing::Values(StepCase{"narrow_tiles", 4, 32, 48, 5},
                                           // Qwen3.5's head widths, enough items for 128-column tiles.
                                           StepCase{"wide_tiles", 4, 128, 128, 70},
                                           // Keys past a block's rows; rows of 36: no 16-byte copies.
                                           StepCase{"wide_keys_odd_rows", 3, 200, 36, 4}),
                         [](const ::testing::TestParamInfo<StepCase>& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace s0::test
