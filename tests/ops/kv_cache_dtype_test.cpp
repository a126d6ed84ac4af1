// Keys and values cached in bf16 (ops/attention.h's KvCache::dtype): every row is rounded to bf16 as
// it enters the cache and every query, its own call's included, attends over the rounded rows. So
// attention over bf16 caches gives, bit for bit, attention over float32 caches fed the same keys and
// values rounded first, and the caches hold the same values: through a prompt, a decode step, a
// step of a few tokens at once and another decode step (attention_case.h). On the CPU (which runs every call over
// float32 copies of the caches) and on a GPU (whose decode steps read and write the bf16 rows in
// their kernels: chunks merged over long caches, one chunk for short ones, rows staged by cp.async
// or, unaligned, by plain loads; its other calls run over float32 copies).
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "attention_case.h"
#include "gpu_compare.h"
#include "gpu_test_inputs.h"
#include "ops/attention.h"
#include "ops/bf16_cast.h"

namespace s0::test {
namespace {

Tensor rounded(const Tensor& x) { return ops::widened_from_bf16(ops::rounded_to_bf16(x)); }

// c.lengths: the prompts' lengths.
void expect_bf16_caches_hold_rounded_rows(const AttentionCase& c, Device device) {
  std::mt19937 rng(21);
  const float scale = 1.0f / std::sqrt(static_cast<float>(c.D));
  const size_t n = c.lengths.size();
  CacheSet narrow(n, DType::BF16), wide(n);
  const std::vector<std::vector<int64_t>> steps = generation_calls(c.lengths);
  auto on = [&](const Tensor& t) { return t.to(device); };
  for (size_t step = 0; step < steps.size(); ++step) {
    const Varlen seqs = packed(steps[step]);
    const int64_t N = seqs.rows();
    const Tensor q = on(uniform({N, c.H, c.D}, -2, 2, rng)), k = on(uniform({N, c.Hkv, c.D}, -2, 2, rng));
    const Tensor v = on(uniform({N, c.Hkv, c.D}, -1, 1, rng));
    Tensor out = Tensor::empty(q.shape(), DType::F32, device), lse = Tensor::empty({c.H * N}, DType::F32, device);
    Tensor want_out = Tensor::empty(q.shape(), DType::F32, device);
    Tensor want_lse = Tensor::empty({c.H * N}, DType::F32, device);
    ops::attention_forward(q, k, v, scale, seqs, narrow.ptrs, out, lse);
    ops::attention_forward(q, rounded(k), rounded(v), scale, seqs, wide.ptrs, want_out, want_lse);
    const std::string at = std::string(c.name) + " step " + std::to_string(step);
    EXPECT_TRUE(bit_identical(out, want_out)) << at << ": out";
    EXPECT_TRUE(bit_identical(lse, want_lse)) << at << ": lse";
  }
  for (size_t s = 0; s < n; ++s) {
    const ops::KvCache &bf16 = narrow.caches[s], &f32 = wide.caches[s];
    const int64_t rows = f32.length;
    ASSERT_EQ(bf16.length, rows);
    ASSERT_EQ(bf16.k.dtype(), DType::BF16);
    EXPECT_TRUE(bit_identical(ops::widened_from_bf16(bf16.k.slice(0, rows)), f32.k.slice(0, rows)) &&
                bit_identical(ops::widened_from_bf16(bf16.v.slice(0, rows)), f32.v.slice(0, rows)))
        << c.name << ": sequence " << s << "'s cache";
  }
}

class KvCacheDtype : public ::testing::TestWithParam<AttentionCase> {};

TEST_P(KvCacheDtype, Bf16CachesHoldTheRoundedRowsOnTheCpu) {
  expect_bf16_caches_hold_rounded_rows(GetParam(), Device::cpu());
}

TEST_P(KvCacheDtype, Bf16CachesHoldTheRoundedRowsOnTheGpu) {
  S0_REQUIRE_GPU();
  expect_bf16_caches_hold_rounded_rows(GetParam(), Device::cuda(0));
}

INSTANTIATE_TEST_SUITE_P(Shapes, KvCacheDtype,
                         ::testing::Values(
                             // Qwen3.5's heads; long caches cut in many chunks, a short last one.
                             AttentionCase{"d256_gqa16_4_mixed", 16, 4, 256, {450, 3, 97, 32}},
                             // Every cache one chunk: no merge.
                             AttentionCase{"d128_gqa4_short", 8, 2, 128, {16, 3, 40}},
                             // Rows of 30 values: staged by plain loads, float32 and bf16 alike.
                             AttentionCase{"d30_gqa2_unaligned", 4, 2, 30, {66, 2}}),
                         [](const ::testing::TestParamInfo<AttentionCase>& info) {
                           return std::string(info.param.name);
                         });

}  // namespace
}  // namespace s0::test
