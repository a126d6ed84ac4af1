// CUDA attention (causal GQA over a packed batch, forward and backward to q, k, v) and rotary
// embedding against the CPU ops on the same random inputs; attention also run twice for identical
// bits, and each sequence alone against its place in the batch; the forward with KV caches
// (prefill, then decode steps) against the CPU's, and a decode step over long caches (to 2100 keys)
// run twice and each sequence alone against the batch. Sequences of 1 to 450 tokens cross the kernels'
// 64-row blocks and 32/64-row tiles; head dims 8 to 256 cover each padded head dim (64, 128, 256)
// and odd ones (15, whose unaligned rows take the kernels' plain-load path). Tolerance 1e-5
// relative (measured values printed) with 3xTF32 products (the f32 mode's); with TF32 products (the
// bf16 mode's, ops/product_precision.h) kTf32Bound, and measurably not 3xTF32's bits. Skips, saying
// why, without a GPU.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "attention_case.h"
#include "gpu_compare.h"
#include "gpu_test_inputs.h"
#include "ops/attention.h"

namespace s0::test {
namespace {

struct AttentionResult {
  Tensor out, lse, dq, dk, dv;
};

AttentionResult attention_run(Device d, const Varlen& seqs, const Tensor& q, const Tensor& k, const Tensor& v,
                              const Tensor& dout, ops::ProductPrecision products = ops::ProductPrecision::f32) {
  auto to = [&](const Tensor& t) { return d.is_cpu() ? on_cpu(t) : on_gpu(t); };
  const Tensor qd = to(q), kd = to(k), vd = to(v), dod = to(dout);
  const float scale = 1.0f / std::sqrt(static_cast<float>(q.dim(2)));
  AttentionResult r{Tensor::empty(q.shape(), DType::F32, d), Tensor::empty({q.dim(1) * q.dim(0)}, DType::F32, d),
                    Tensor::empty(q.shape(), DType::F32, d), Tensor::empty(k.shape(), DType::F32, d),
                    Tensor::empty(v.shape(), DType::F32, d)};
  ops::attention_forward(qd, kd, vd, scale, seqs, {}, r.out, r.lse, products);
  ops::attention_backward(qd, kd, vd, r.out, r.lse, dod, scale, seqs, r.dq, r.dk, r.dv, products);
  return r;
}

bool same_bits(const AttentionResult& a, const AttentionResult& b) {
  return bit_identical(a.out, b.out) && bit_identical(a.lse, b.lse) && bit_identical(a.dq, b.dq) &&
         bit_identical(a.dk, b.dk) && bit_identical(a.dv, b.dv);
}

// TF32 products against the CPU's float32: 11 significant bits a product (about 5e-4 relative),
// through the scores' exponentials and the sums.
constexpr double kTf32Bound = 4e-3;

struct AttentionInputs {
  Varlen seqs;
  Tensor q, k, v, dout;
};

// The case's packed batch, with scores of a few units (the softmax neither flat nor one-hot).
AttentionInputs attention_inputs(const AttentionCase& c) {
  std::mt19937 rng(21);
  AttentionInputs in{packed(c.lengths), {}, {}, {}, {}};
  const int64_t N = in.seqs.rows();
  in.q = uniform({N, c.H, c.D}, -2, 2, rng);
  in.k = uniform({N, c.Hkv, c.D}, -2, 2, rng);
  in.v = uniform({N, c.Hkv, c.D}, -1, 1, rng);
  in.dout = uniform({N, c.H, c.D}, -1, 1, rng);
  return in;
}

// The GPU's attention with `products` against the CPU's within `tolerance`; run twice for the same
// bits; each sequence alone gives its rows of the batch, bit for bit. Returns the batch's result.
AttentionResult expect_matches_cpu_repeats_and_is_batch_invariant(const AttentionCase& c, ops::ProductPrecision products,
                                                                  double tolerance) {
  const AttentionInputs in = attention_inputs(c);
  const Varlen& seqs = in.seqs;
  const Tensor &q = in.q, &k = in.k, &v = in.v, &dout = in.dout;
  const AttentionResult cpu = attention_run(Device::cpu(), seqs, q, k, v, dout);
  const AttentionResult gpu = attention_run(Device::cuda(0), seqs, q, k, v, dout, products);
  expect_close("out", cpu.out, gpu.out, tolerance);
  expect_close("lse", cpu.lse, gpu.lse, tolerance);
  expect_close("dq", cpu.dq, gpu.dq, tolerance);
  expect_close("dk", cpu.dk, gpu.dk, tolerance);
  expect_close("dv", cpu.dv, gpu.dv, tolerance);
  EXPECT_TRUE(same_bits(gpu, attention_run(Device::cuda(0), seqs, q, k, v, dout, products))) << "not repeatable";
  for (int64_t s = 0; s < seqs.n_seqs(); ++s) {
    const int64_t b = seqs.begin(s), n = seqs.length(s);
    const AttentionResult one = attention_run(Device::cuda(0), packed({n}), rows_of(q, b, n), rows_of(k, b, n),
                                              rows_of(v, b, n), rows_of(dout, b, n), products);
    // lse keeps sequence s's H rows of its length from H * begin(s).
    const Tensor lse = on_cpu(gpu.lse);
    const std::vector<float> lse_rows(lse.f32() + c.H * b, lse.f32() + c.H * (b + n));
    EXPECT_TRUE(bit_identical(one.out, rows_of(gpu.out, b, n)) && bit_identical(one.dq, rows_of(gpu.dq, b, n)) &&
                bit_identical(one.dk, rows_of(gpu.dk, b, n)) && bit_identical(one.dv, rows_of(gpu.dv, b, n)) &&
                bit_identical(one.lse, Tensor::from({c.H * n}, lse_rows)))
        << "sequence " << s << " alone differs from its place in the batch";
  }
  return gpu;
}

class CudaAttention : public ::testing::TestWithParam<AttentionCase> {};

TEST_P(CudaAttention, MatchesCpuRepeatsAndIsBatchInvariant) {
  S0_REQUIRE_GPU();
  expect_matches_cpu_repeats_and_is_batch_invariant(GetParam(), ops::ProductPrecision::f32, 1e-5);
}

TEST_P(CudaAttention, Tf32ProductsMatchCpuWithinTf32RoundingRepeatAndAreBatchInvariant) {
  S0_REQUIRE_GPU();
  const AttentionResult tf32 =
      expect_matches_cpu_repeats_and_is_batch_invariant(GetParam(), ops::ProductPrecision::tf32, kTf32Bound);
  const AttentionInputs in = attention_inputs(GetParam());
  EXPECT_FALSE(same_bits(tf32, attention_run(Device::cuda(0), in.seqs, in.q, in.k, in.v, in.dout)))
      << "TF32 gave 3xTF32's bits";
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, CudaAttention,
    ::testing::Values(AttentionCase{"gqa_4_over_2", 4, 2, 32, {37, 1, 70, 16, 5, 130}},
                      AttentionCase{"qwen_head_dim_256", 4, 1, 256, {1, 70}},
                      AttentionCase{"one_head_each", 3, 3, 8, {2, 65}},
                      AttentionCase{"d16_gqa1_block_edges", 2, 2, 16, {1, 63, 64, 65}},
                      AttentionCase{"d24_gqa4_mixed", 4, 1, 24, {65, 1, 130, 64}},
                      AttentionCase{"d64_gqa4_long", 8, 2, 64, {63, 450}},
                      AttentionCase{"d128_gqa1_mixed", 2, 2, 128, {64, 1, 200}},
                      AttentionCase{"d256_gqa4_long", 4, 1, 256, {450, 65, 1}},
                      AttentionCase{"d256_gqa1_edges", 2, 2, 256, {63, 64}},
                      // The dk/dv kernel's parts of a group: two of three query heads; a group of
                      // three, odd, in one.
                      AttentionCase{"d32_gqa6_parts", 6, 1, 32, {130, 1, 64}},
                      AttentionCase{"d32_gqa3_whole", 3, 1, 32, {130, 1, 64}},
                      // Rows not 16-byte aligned: staged by plain loads instead of cp.async.
                      AttentionCase{"d15_gqa2_unaligned", 4, 2, 15, {65, 3, 128}}),
    [](const ::testing::TestParamInfo<AttentionCase>& info) { return std::string(info.param.name); });

// Generation's forward: each sequence's prompt, then steps of one token (and one of a few tokens),
// each appending to that sequence's KV cache and attending over all of it; out, lse and the caches'
// rows on the GPU against the CPU's at every step.
class CudaAttentionCache : public ::testing::TestWithParam<AttentionCase> {};

TEST_P(CudaAttentionCache, DecodeStepsMatchCpu) {
  S0_REQUIRE_GPU();
  const AttentionCase c = GetParam();
  std::mt19937 rng(8);
  const float scale = 1.0f / std::sqrt(static_cast<float>(c.D));
  const size_t n = c.lengths.size();
  CacheSet cpu(n), gpu(n);
  const std::vector<std::vector<int64_t>> steps = generation_calls(c.lengths);
  for (size_t step = 0; step < steps.size(); ++step) {
    const Varlen seqs = packed(steps[step]);
    const int64_t N = seqs.rows();
    const Tensor q = uniform({N, c.H, c.D}, -2, 2, rng), k = uniform({N, c.Hkv, c.D}, -2, 2, rng);
    const Tensor v = uniform({N, c.Hkv, c.D}, -1, 1, rng);
    Tensor cpu_out = Tensor::empty(q.shape(), DType::F32, Device::cpu());
    Tensor cpu_lse = Tensor::empty({c.H * N}, DType::F32, Device::cpu());
    Tensor gpu_out = on_gpu(cpu_out), gpu_lse = on_gpu(cpu_lse);
    ops::attention_forward(q, k, v, scale, seqs, cpu.ptrs, cpu_out, cpu_lse);
    ops::attention_forward(on_gpu(q), on_gpu(k), on_gpu(v), scale, seqs, gpu.ptrs, gpu_out, gpu_lse);
    const std::string at = "step " + std::to_string(step) + " ";
    expect_close(at + "out", cpu_out, gpu_out, 1e-5);
    expect_close(at + "lse", cpu_lse, gpu_lse, 1e-5);
  }
  for (size_t s = 0; s < n; ++s) {
    const ops::KvCache &host = cpu.caches[s], &device = gpu.caches[s];
    const int64_t rows = host.length;
    ASSERT_EQ(device.length, rows);
    EXPECT_TRUE(bit_identical(rows_of(host.k, 0, rows), rows_of(device.k, 0, rows)) &&
                bit_identical(rows_of(host.v, 0, rows), rows_of(device.v, 0, rows)))
        << "sequence " << s << "'s cache differs";
  }
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, CudaAttentionCache,
    ::testing::Values(AttentionCase{"d256_gqa4", 4, 1, 256, {70, 1, 130}},
                      AttentionCase{"d24_gqa1", 2, 2, 24, {64, 5}},
                      AttentionCase{"d15_gqa2_unaligned", 4, 2, 15, {66, 2}},
                      AttentionCase{"d128_gqa4_long_prompt", 8, 2, 128, {450}},
                      // Decode steps over long caches: many 64-key chunks per sequence, a short last chunk.
                      AttentionCase{"d256_gqa16_4_one_long", 16, 4, 256, {700}},
                      AttentionCase{"d256_gqa16_4_mixed", 16, 4, 256, {450, 3, 97, 32}},
                      // Short caches (both decode steps up to 64 keys): every sequence is one chunk,
                      // finished by the chunk kernel with no merge launched.
                      AttentionCase{"d256_gqa16_4_short", 16, 4, 256, {16, 3, 60}},
                      // Six query heads per KV head: a block of four and one of two.
                      AttentionCase{"d128_gqa6_1_mixed", 6, 1, 128, {300, 1, 64, 33}},
                      // Past 4096 keys the chunks grow to 96 keys.
                      AttentionCase{"d64_gqa4_past_4096", 8, 2, 64, {4130, 5, 40}},
                      AttentionCase{"d15_gqa3_unaligned_long", 3, 1, 15, {260, 7}}),
    [](const ::testing::TestParamInfo<AttentionCase>& info) { return std::string(info.param.name); });

// One decode step over caches of the case's lengths: run twice for identical bits, and each
// sequence alone (its cache alone) against its place in the batch, bit for bit.
TEST_P(CudaAttentionCache, DecodeStepRepeatsAndIsBatchInvariant) {
  S0_REQUIRE_GPU();
  const AttentionCase c = GetParam();
  std::mt19937 rng(13);
  const float scale = 1.0f / std::sqrt(static_cast<float>(c.D));
  const int64_t n = static_cast<int64_t>(c.lengths.size());
  std::vector<Tensor> past_k, past_v;
  for (const int64_t len : c.lengths) {
    past_k.push_back(uniform({len, c.Hkv * c.D}, -2, 2, rng));
    past_v.push_back(uniform({len, c.Hkv * c.D}, -1, 1, rng));
  }
  const Tensor q = uniform({n, c.H, c.D}, -2, 2, rng), k = uniform({n, c.Hkv, c.D}, -2, 2, rng);
  const Tensor v = uniform({n, c.Hkv, c.D}, -1, 1, rng);
  // The step for sequences [first, first + count): fresh caches holding their past keys, then the step.
  auto step = [&](int64_t first, int64_t count) {
    std::vector<ops::KvCache> caches;
    for (int64_t s = first; s < first + count; ++s)
      caches.push_back({on_gpu(past_k[static_cast<size_t>(s)]), on_gpu(past_v[static_cast<size_t>(s)]),
                        c.lengths[static_cast<size_t>(s)]});
    std::vector<ops::KvCache*> ptrs;
    for (ops::KvCache& cache : caches) ptrs.push_back(&cache);
    Tensor out = Tensor::empty({count, c.H, c.D}, DType::F32, Device::cuda(0));
    Tensor lse = Tensor::empty({c.H * count}, DType::F32, Device::cuda(0));
    ops::attention_forward(on_gpu(rows_of(q, first, count)), on_gpu(rows_of(k, first, count)),
                           on_gpu(rows_of(v, first, count)), scale, packed(std::vector<int64_t>(count, 1)), ptrs, out,
                           lse);
    return std::pair{out, lse};
  };
  const auto [out, lse] = step(0, n);
  const auto [out_again, lse_again] = step(0, n);
  EXPECT_TRUE(bit_identical(out, out_again) && bit_identical(lse, lse_again)) << "not repeatable";
  for (int64_t s = 0; s < n; ++s) {
    const auto [one_out, one_lse] = step(s, 1);
    EXPECT_TRUE(bit_identical(one_out, rows_of(out, s, 1)) &&
                bit_identical(one_lse, rows_of(lse.reshaped({n, c.H}), s, 1).reshaped({c.H})))
        << "sequence " << s << " alone differs from its place in the batch";
  }
}

TEST(CudaRope, PartialRotaryMatchesCpuForwardAndBackward) {
  S0_REQUIRE_GPU();
  std::mt19937 rng(5);
  const int64_t T = 40, heads = 3, D = 64, rot_dim = 16;  // partial rotary 0.25
  std::vector<int64_t> positions;
  for (int64_t t = 0; t < T; ++t) positions.push_back(t < 20 ? t : 100000 + 7 * t);  // far positions too
  const Tensor x = uniform({T, heads, D}, -1, 1, rng);
  for (const bool forward : {true, false}) {
    Tensor on_host = x.clone(), on_device = on_gpu(x);
    if (forward) {
      ops::rope_forward(on_host, positions, rot_dim, 1e7);
      ops::rope_forward(on_device, positions, rot_dim, 1e7);
    } else {
      ops::rope_backward(on_host, positions, rot_dim, 1e7);
      ops::rope_backward(on_device, positions, rot_dim, 1e7);
    }
    expect_close(forward ? "rope" : "rope adjoint", on_host, on_device, 1e-6);
  }
}

}  // namespace
}  // namespace s0::test
