// The CUDA sequence ops (conv1d + SiLU, gated delta rule, SSD) against the CPU ops on the same
// random inputs, through the Tensor-level API, over packed batches of several sequences (one of
// length 1, others not a multiple of any chunk or checkpoint interval), with and without start
// states, with strong and weak decays; run twice for bit-identical results, and each sequence alone
// against its place in the batch. Every test skips, saying why, where there is no GPU.
//
// Tolerances (max |gpu - cpu| over max |cpu| per tensor, each dS0 and final state on its own
// scale): 1e-6 for the conv, 1e-5 for the recurrences, forward and backward, though both run in
// chunks of 64 on both devices with their sums in other orders; the largest measured on an H200 was
// 1.4e-6 (an SSD dS0 behind strong decays, when the GPU still ran SSD token by token). The
// measured differences are printed.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include "gpu_compare.h"
#include "gpu_test_inputs.h"
#include "ops/columns.h"
#include "ops/conv1d.h"
#include "ops/gated_delta.h"
#include "ops/ssd.h"

namespace s0::test {
namespace {

using ops::SequenceStart;

std::vector<SequenceStart> starts_from(const std::vector<Tensor>& initial) {
  std::vector<SequenceStart> starts(initial.size());
  for (size_t s = 0; s < initial.size(); ++s) starts[s].initial = initial[s];
  return starts;
}

std::vector<Tensor> all_on_gpu(const std::vector<Tensor>& ts) {
  std::vector<Tensor> out;
  for (const Tensor& t : ts) out.push_back(on_gpu(t));
  return out;
}

// Per sequence a random start state, or none for every other sequence (zeros), or none at all.
std::vector<Tensor> start_states(int64_t n_seqs, const Shape& state, bool with_starts, std::mt19937& rng) {
  std::vector<Tensor> out(static_cast<size_t>(n_seqs));
  if (with_starts)
    for (int64_t s = 0; s < n_seqs; s += 2) out[static_cast<size_t>(s)] = uniform(state, -1.0f, 1.0f, rng);
  return out;
}

const std::vector<int64_t> kLengths = {37, 1, 70, 16, 5};
// Around the chunk of 64 tokens (both recurrences on both devices): a decode step, one short of a
// chunk, exactly one, one over, several with a ragged end, and a short one, in one batch.
const std::vector<int64_t> kChunkLengths = {1, 63, 64, 65, 200, 7};

// ---------------------------------------------------------------------------------------------
// conv1d + SiLU

struct ConvRun {
  Tensor y, pre, dx;
  std::vector<Tensor> windows;
};

// x is read as columns [begin, begin + C) of a wider projection; dx is written into the same columns
// of a zeroed gradient, whose other columns must stay zero. With `cached`, every sequence has a
// window (an empty one is made by the op, as for a sequence's first generation call) that moves on;
// without, none (training).
ConvRun conv_run(Device d, const Tensor& proj, const Tensor& w, const Tensor& bias, const Varlen& seqs,
                 const std::vector<Tensor>& windows, bool cached, const Tensor& dy, int64_t C, int64_t begin) {
  auto to = [&](const Tensor& t) { return d.is_cpu() ? on_cpu(t) : on_gpu(t); };
  ConvRun r;
  for (const Tensor& t : windows) r.windows.push_back(t.empty() ? Tensor() : to(t).clone());
  std::vector<SequenceStart> starts(windows.size());
  if (cached)
    for (size_t s = 0; s < windows.size(); ++s) starts[s].window = &r.windows[s];
  const Tensor x = to(proj);
  r.y = Tensor::empty({seqs.rows(), C}, DType::F32, d);
  r.pre = Tensor::empty({seqs.rows(), C}, DType::F32, d);
  ops::conv1d_silu_forward(ops::columns(x, begin, C), to(w), to(bias), seqs, starts, r.y, r.pre);
  r.dx = Tensor::zeros(proj.shape(), DType::F32, d);
  ops::conv1d_silu_backward(to(w), r.pre, to(dy), seqs, ops::columns(r.dx, begin, C));
  return r;
}

// Columns from 4 of a projection 8 wider (16-byte aligned rows: four channels a thread) and from 3
// of one 7 wider (one channel a thread).
TEST(CudaConv1d, MatchesCpuWithAndWithoutHistory) {
  S0_REQUIRE_GPU();
  for (const auto& [begin, extra] : {std::pair<int64_t, int64_t>{3, 7}, {4, 8}}) {
    std::mt19937 rng(1);
    const int64_t C = 24, K = 4, width = C + extra;
    const Varlen seqs = packed({7, 1, 2, 19, 3, 40});
    const Tensor proj = uniform({seqs.rows(), width}, -2.0f, 2.0f, rng);
    const Tensor w = uniform({C, K}, -1.0f, 1.0f, rng), bias = uniform({C}, -0.5f, 0.5f, rng);
    const Tensor dy = uniform({seqs.rows(), C}, -1.0f, 1.0f, rng);
    const std::vector<Tensor> windows = {uniform({K - 1, C}, -1, 1, rng), Tensor(), uniform({K - 1, C}, -1, 1, rng),
                                         Tensor(), uniform({K - 1, C}, -1, 1, rng), Tensor()};
    for (const bool cached : {true, false}) {
      std::cout << "  columns from " << begin << ", " << (cached ? "with history windows" : "no history (training)")
                << "\n";
      const ConvRun cpu = conv_run(Device::cpu(), proj, w, bias, seqs, windows, cached, dy, C, begin);
      const ConvRun gpu = conv_run(Device::cuda(0), proj, w, bias, seqs, windows, cached, dy, C, begin);
      expect_close("y", cpu.y, gpu.y, 1e-6);
      expect_close("pre", cpu.pre, gpu.pre, 1e-6);
      expect_close("dx", cpu.dx, gpu.dx, 1e-6);
      for (size_t s = 0; s < cpu.windows.size(); ++s) {
        EXPECT_EQ(cpu.windows[s].empty(), gpu.windows[s].empty()) << "window of sequence " << s;
        if (!cpu.windows[s].empty()) {
          EXPECT_TRUE(bit_identical(cpu.windows[s], gpu.windows[s])) << "window of sequence " << s;
        }
      }
      const ConvRun again = conv_run(Device::cuda(0), proj, w, bias, seqs, windows, cached, dy, C, begin);
      EXPECT_TRUE(bit_identical(gpu.y, again.y) && bit_identical(gpu.dx, again.dx)) << "not repeatable";
      // The third sequence alone gives what it gets inside the batch.
      const Varlen alone = packed({2});
      const ConvRun one = conv_run(Device::cuda(0), rows_of(proj, 8, 2), w, bias, alone, {windows[2]}, cached,
                                   rows_of(dy, 8, 2), C, begin);
      EXPECT_TRUE(bit_identical(one.y, rows_of(gpu.y, 8, 2)) && bit_identical(one.dx, rows_of(gpu.dx, 8, 2)))
          << "batch-dependent";
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The recurrences: one harness for the gated delta rule and SSD.

struct RecurrenceInputs {
  Varlen seqs;
  std::vector<Tensor> rows;     // tensors whose first dimension is the packed rows (the output
                                // gradient last)
  std::vector<Tensor> weights;  // per head, not per row (SSD's A and D)
  std::vector<Tensor> s0;       // per sequence, empty = zeros
};

struct RecurrenceOutputs {
  std::vector<std::pair<std::string, Tensor>> rows;  // the output first, then the input gradients
  std::vector<Tensor> finals, ds0;
};

using RecurrenceRun = RecurrenceOutputs (*)(Device, const RecurrenceInputs&);

Tensor like(const Tensor& t, Device d) { return Tensor::empty(t.shape(), DType::F32, d); }

std::vector<Tensor> moved(const std::vector<Tensor>& ts, Device d) {
  return d.is_cpu() ? ts : all_on_gpu(ts);
}

// With `keep_chunks`, the forward keeps its chunk states and the backward starts from them;
// `products` as the GPU is asked (the CPU computes in float32 either way).
RecurrenceOutputs gated_delta_run_with(Device d, const RecurrenceInputs& in, bool keep_chunks,
                                       ops::ProductPrecision products = ops::ProductPrecision::f32) {
  const std::vector<Tensor> r = moved(in.rows, d);
  const Tensor &q = r[0], &k = r[1], &v = r[2], &g = r[3], &beta = r[4], &d_o = r[5];
  const std::vector<SequenceStart> starts = starts_from(moved(in.s0, d));
  RecurrenceOutputs out;
  Tensor o = like(v, d), dq = like(q, d), dk = like(k, d), dv = like(v, d), dg = like(g, d), dbeta = like(beta, d);
  Tensor chunk_states;
  ops::gated_delta_forward(q, k, v, g, beta, in.seqs, starts, o, &out.finals, keep_chunks ? &chunk_states : nullptr,
                           products);
  EXPECT_EQ(keep_chunks, !chunk_states.empty()) << "chunk states kept when asked, and only then";
  ops::gated_delta_backward(q, k, v, g, beta, in.seqs, starts, d_o, dq, dk, dv, dg, dbeta, &out.ds0, chunk_states,
                            products);
  out.rows = {{"o", o}, {"dq", dq}, {"dk", dk}, {"dv", dv}, {"dg", dg}, {"dbeta", dbeta}};
  return out;
}

RecurrenceOutputs gated_delta_run(Device d, const RecurrenceInputs& in) { return gated_delta_run_with(d, in, false); }

// v and dv as column blocks of wider matrices (the conv's output and its gradient), 5 columns in and
// 3 before the rows end; dv's other columns must keep what they held.
RecurrenceOutputs gated_delta_run_in_blocks(Device d, const RecurrenceInputs& in) {
  const std::vector<Tensor> r = moved(in.rows, d);
  const Tensor &q = r[0], &k = r[1], &v = r[2], &g = r[3], &beta = r[4], &d_o = r[5];
  const int64_t N = v.dim(0), width = v.dim(1) * v.dim(2), before = 5, total = before + width + 3;
  const Tensor v_rows = on_cpu(in.rows[2]);
  std::vector<float> wide(static_cast<size_t>(N * total), 7.0f);
  for (int64_t i = 0; i < N; ++i)
    std::copy(v_rows.f32() + i * width, v_rows.f32() + (i + 1) * width, wide.begin() + i * total + before);
  const Tensor v_wide = moved({Tensor::from({N, total}, wide)}, d)[0];
  Tensor dv_wide = moved({Tensor::from({N, total}, std::vector<float>(static_cast<size_t>(N * total), -3.0f))}, d)[0];
  const std::vector<SequenceStart> starts = starts_from(moved(in.s0, d));
  RecurrenceOutputs out;
  Tensor o = like(v, d), dq = like(q, d), dk = like(k, d), dg = like(g, d), dbeta = like(beta, d);
  const ops::Columns v_block = ops::columns(v_wide, before, width), dv_block = ops::columns(dv_wide, before, width);
  ops::gated_delta_forward(q, k, v_block, g, beta, in.seqs, starts, o, &out.finals);
  ops::gated_delta_backward(q, k, v_block, g, beta, in.seqs, starts, d_o, dq, dk, dv_block, dg, dbeta, &out.ds0);
  const Tensor dv_host = on_cpu(dv_wide);
  int64_t touched = 0;
  for (int64_t i = 0; i < N; ++i)
    for (int64_t c = 0; c < total; ++c)
      touched += (c < before || c >= before + width) && dv_host.f32()[i * total + c] != -3.0f;
  EXPECT_EQ(touched, 0) << "dv written outside its block";
  out.rows = {{"o", o}, {"dq", dq}, {"dk", dk}, {"dv", ops::copy_columns(dv_block).reshaped(v.shape())},
              {"dg", dg}, {"dbeta", dbeta}};
  return out;
}
RecurrenceOutputs gated_delta_run_tf32(Device d, const RecurrenceInputs& in) {
  return gated_delta_run_with(d, in, false, ops::ProductPrecision::tf32);
}

RecurrenceOutputs ssd_run_with(Device d, const RecurrenceInputs& in, ops::ProductPrecision products) {
  const std::vector<Tensor> r = moved(in.rows, d), w = moved(in.weights, d);
  const Tensor &x = r[0], &dt = r[1], &B = r[2], &C = r[3], &d_y = r[4], &A = w[0], &D = w[1];
  const std::vector<SequenceStart> starts = starts_from(moved(in.s0, d));
  RecurrenceOutputs out;
  Tensor y = like(x, d), dx = like(x, d), ddt = like(dt, d), dB = like(B, d), dC = like(C, d);
  ops::ssd_forward(x, dt, A, B, C, D, in.seqs, starts, y, &out.finals, nullptr, products);
  ops::ssd_backward(x, dt, A, B, C, D, in.seqs, starts, d_y, dx, ddt, dB, dC, &out.ds0, Tensor(), products);
  out.rows = {{"y", y}, {"dx", dx}, {"ddt", ddt}, {"dB", dB}, {"dC", dC}};
  return out;
}

RecurrenceOutputs ssd_run(Device d, const RecurrenceInputs& in) { return ssd_run_with(d, in, ops::ProductPrecision::f32); }
RecurrenceOutputs ssd_run_tf32(Device d, const RecurrenceInputs& in) {
  return ssd_run_with(d, in, ops::ProductPrecision::tf32);
}

void expect_matches_cpu(RecurrenceRun run, const RecurrenceInputs& in, double tolerance = 1e-5) {
  const RecurrenceOutputs cpu = run(Device::cpu(), in), gpu = run(Device::cuda(0), in);
  for (size_t i = 0; i < cpu.rows.size(); ++i)
    expect_close(cpu.rows[i].first, cpu.rows[i].second, gpu.rows[i].second, tolerance);
  ASSERT_EQ(gpu.finals.size(), cpu.finals.size());
  ASSERT_EQ(gpu.ds0.size(), cpu.ds0.size());
  for (size_t s = 0; s < cpu.finals.size(); ++s) {
    expect_close("final state of sequence " + std::to_string(s), cpu.finals[s], gpu.finals[s], tolerance);
    expect_close("dS0 of sequence " + std::to_string(s), cpu.ds0[s], gpu.ds0[s], tolerance);
  }
}

// TF32 products (ops/product_precision.h) against the CPU's float32 within `tolerance`, and measurably
// not the 3xTF32 products' bits (`f32_run`'s): some output or gradient differs.
void expect_tf32_matches_cpu(RecurrenceRun f32_run, RecurrenceRun tf32_run, const RecurrenceInputs& in,
                             double tolerance) {
  expect_matches_cpu(tf32_run, in, tolerance);
  const RecurrenceOutputs f32 = f32_run(Device::cuda(0), in), tf32 = tf32_run(Device::cuda(0), in);
  double largest = 0;
  for (size_t i = 0; i < f32.rows.size(); ++i)
    largest = std::max(largest, relative_difference(f32.rows[i].second, tf32.rows[i].second));
  EXPECT_GT(largest, 1e-6) << "TF32 products not taken";
}

void expect_same_bits(const RecurrenceOutputs& a, const RecurrenceOutputs& b) {
  for (size_t i = 0; i < a.rows.size(); ++i) EXPECT_TRUE(bit_identical(a.rows[i].second, b.rows[i].second)) << a.rows[i].first;
  for (size_t s = 0; s < a.finals.size(); ++s) {
    EXPECT_TRUE(bit_identical(a.finals[s], b.finals[s])) << "final state " << s;
    EXPECT_TRUE(bit_identical(a.ds0[s], b.ds0[s])) << "dS0 " << s;
  }
}

// Twice the same bits; and every sequence run alone gives, bit for bit, what it gets in the batch
// (each sequence's arithmetic is its own, in a fixed order).
void expect_repeatable_and_batch_invariant(RecurrenceRun run, const RecurrenceInputs& in) {
  const RecurrenceOutputs batch = run(Device::cuda(0), in);
  expect_same_bits(batch, run(Device::cuda(0), in));
  for (int64_t s = 0; s < in.seqs.n_seqs(); ++s) {
    const int64_t begin = in.seqs.begin(s), n = in.seqs.length(s);
    RecurrenceInputs alone{packed({n}), {}, in.weights, {in.s0[static_cast<size_t>(s)]}};
    for (const Tensor& t : in.rows) alone.rows.push_back(rows_of(t, begin, n));
    const RecurrenceOutputs one = run(Device::cuda(0), alone);
    for (size_t i = 0; i < one.rows.size(); ++i)
      EXPECT_TRUE(bit_identical(one.rows[i].second, rows_of(batch.rows[i].second, begin, n)))
          << one.rows[i].first << " of sequence " << s << " alone";
    EXPECT_TRUE(bit_identical(one.finals[0], batch.finals[static_cast<size_t>(s)])) << "final state " << s << " alone";
    EXPECT_TRUE(bit_identical(one.ds0[0], batch.ds0[static_cast<size_t>(s)])) << "dS0 " << s << " alone";
  }
}

// Log decays (g for the gated delta rule, steps dt for SSD) from [lo, hi], a `strong_share` of them
// from the strong range instead; the first token of every sequence decays strongly when the share
// is not 0, so that dS0 is tiny and must still be right on its own scale.
struct DecayCase {
  const char* name;
  float lo, hi, strong_share;
  bool with_starts;
  int64_t H, dk_or_p, dv_or_ns;  // per-head state dims
  std::vector<int64_t> lengths;
};

void PrintTo(const DecayCase& c, std::ostream* os) { *os << c.name; }

Tensor decays(const DecayCase& c, const Varlen& seqs, int64_t H, float strong_lo, float strong_hi, std::mt19937& rng) {
  Tensor t = uniform({seqs.rows(), H}, c.lo, c.hi, rng);
  std::uniform_real_distribution<float> unit(0.0f, 1.0f), strong(strong_lo, strong_hi);
  float* p = t.f32_mut();
  for (int64_t e = 0; e < t.numel(); ++e)
    if (unit(rng) < c.strong_share) p[e] = strong(rng);
  if (c.strong_share > 0)
    for (int64_t s = 0; s < seqs.n_seqs(); ++s)
      for (int64_t h = 0; h < H && seqs.length(s) > 0; ++h) p[seqs.begin(s) * H + h] = strong(rng);
  return t;
}

RecurrenceInputs gated_delta_inputs(const DecayCase& c, uint32_t seed) {
  std::mt19937 rng(seed);
  const int64_t H = c.H, dk = c.dk_or_p, dv = c.dv_or_ns;
  RecurrenceInputs in{packed(c.lengths), {}, {}, {}};
  const int64_t N = in.seqs.rows();
  in.rows = {unit_rows({N, H, dk}, 1.0f / std::sqrt(static_cast<float>(dk)), rng), unit_rows({N, H, dk}, 1.0f, rng),
             uniform({N, H, dv}, -1, 1, rng), decays(c, in.seqs, H, -40.0f, -15.0f, rng),
             uniform({N, H}, 0.05f, 0.95f, rng), uniform({N, H, dv}, -1, 1, rng)};
  in.s0 = start_states(in.seqs.n_seqs(), {H, dk, dv}, c.with_starts, rng);
  return in;
}

RecurrenceInputs ssd_inputs(const DecayCase& c, uint32_t seed) {
  std::mt19937 rng(seed);
  const int64_t H = c.H, P = c.dk_or_p, Ns = c.dv_or_ns, G = H > 1 ? 2 : 1;
  RecurrenceInputs in{packed(c.lengths), {}, {}, {}};
  const int64_t N = in.seqs.rows();
  const bool strong = c.strong_share > 0;
  in.rows = {uniform({N, H, P}, -1, 1, rng), decays(c, in.seqs, H, 3.0f, 8.0f, rng), uniform({N, G, Ns}, -1, 1, rng),
             uniform({N, G, Ns}, -1, 1, rng), uniform({N, H, P}, -1, 1, rng)};
  in.weights = {strong ? uniform({H}, -8.0f, -5.0f, rng) : uniform({H}, -2.0f, -0.5f, rng), uniform({H}, -1, 1, rng)};
  in.s0 = start_states(in.seqs.n_seqs(), {H, P, Ns}, c.with_starts, rng);
  return in;
}

// `n` one-token sequences (a decode step) followed by `more`: enough (sequence, head) items for the
// step kernel's wide tiles, while each sequence alone takes the narrow tiles
// (RepeatableAndBatchInvariant asserts that both give the same bits).
std::vector<int64_t> single_tokens(int64_t n, std::vector<int64_t> more) {
  std::vector<int64_t> lengths(static_cast<size_t>(n), 1);
  lengths.insert(lengths.end(), more.begin(), more.end());
  return lengths;
}

class CudaGatedDelta : public ::testing::TestWithParam<DecayCase> {};

TEST_P(CudaGatedDelta, MatchesCpu) {
  S0_REQUIRE_GPU();
  expect_matches_cpu(gated_delta_run, gated_delta_inputs(GetParam(), 3));
}

TEST_P(CudaGatedDelta, RepeatableAndBatchInvariant) {
  S0_REQUIRE_GPU();
  expect_repeatable_and_batch_invariant(gated_delta_run, gated_delta_inputs(GetParam(), 5));
}

// The chunk states the forward keeps are the very ones the backward recomputes without them: every
// output and gradient is the same bits either way (dq's first term is each chunk's dO S^T, and the
// backward's delta = U - W S comes from them), one-token sequences (the step kernel's) included.
TEST_P(CudaGatedDelta, KeptChunkStatesGiveTheRecomputedBits) {
  S0_REQUIRE_GPU();
  const RecurrenceInputs in = gated_delta_inputs(GetParam(), 5);
  expect_same_bits(gated_delta_run(Device::cuda(0), in), gated_delta_run_with(Device::cuda(0), in, true));
}

// TF32 products (the bf16 mode's, ops/product_precision.h) against the CPU's float32: within TF32's
// rounding (11 significant bits, about 5e-4 relative a product, compounded through the chunk's
// products and triangular solve; the largest measured on an H200 over these cases was 1.27e-3, dg
// of mixed_decays), and measurably not 3xTF32's bits. They still repeat, do not depend on the
// batch, and give the same bits from kept chunk states.
constexpr double kTf32Bound = 4e-3;

// v read from and dv written into column blocks of wider matrices (as the layer passes the conv's
// output and gradient) give the bits of contiguous ones: in place on the GPU, through copies on the
// CPU (GatedDeltaColumns below).
TEST_P(CudaGatedDelta, ValueColumnBlocksGiveTheContiguousBits) {
  S0_REQUIRE_GPU();
  const RecurrenceInputs in = gated_delta_inputs(GetParam(), 5);
  expect_same_bits(gated_delta_run(Device::cuda(0), in), gated_delta_run_in_blocks(Device::cuda(0), in));
}

TEST_P(CudaGatedDelta, Tf32ProductsMatchCpuWithinTf32Rounding) {
  S0_REQUIRE_GPU();
  // (Decode steps' outputs come from the step kernel in both; every backward runs the chunked form.)
  expect_tf32_matches_cpu(gated_delta_run, gated_delta_run_tf32, gated_delta_inputs(GetParam(), 3), kTf32Bound);
}

TEST_P(CudaGatedDelta, Tf32ProductsRepeatableAndBatchInvariant) {
  S0_REQUIRE_GPU();
  expect_repeatable_and_batch_invariant(gated_delta_run_tf32, gated_delta_inputs(GetParam(), 5));
}

TEST_P(CudaGatedDelta, Tf32ProductsFromKeptChunkStatesGiveTheRecomputedBits) {
  S0_REQUIRE_GPU();
  const RecurrenceInputs in = gated_delta_inputs(GetParam(), 5);
  expect_same_bits(gated_delta_run_tf32(Device::cuda(0), in),
                   gated_delta_run_with(Device::cuda(0), in, true, ops::ProductPrecision::tf32));
}

TEST(GatedDeltaColumns, CpuValueColumnBlocksGiveTheContiguousBits) {
  const RecurrenceInputs in =
      gated_delta_inputs(DecayCase{"blocks", -1.0f, -0.01f, 0.0f, true, 2, 16, 24, {70, 1, 9}}, 5);
  expect_same_bits(gated_delta_run(Device::cpu(), in), gated_delta_run_in_blocks(Device::cpu(), in));
}

INSTANTIATE_TEST_SUITE_P(
    Decays, CudaGatedDelta,
    ::testing::Values(DecayCase{"weak_decay_with_starts", -0.5f, -0.001f, 0.0f, true, 3, 32, 24, kLengths},
                      DecayCase{"weak_decay_zero_starts", -0.5f, -0.001f, 0.0f, false, 3, 32, 24, kLengths},
                      DecayCase{"mixed_decays", -60.0f, -0.001f, 0.0f, true, 2, 16, 40, kLengths},
                      DecayCase{"some_strong_decays", -1.0f, -0.01f, 0.1f, true, 2, 20, 10, kLengths},
                      DecayCase{"qwen_head_dims", -1.0f, -0.01f, 0.0f, true, 2, 128, 128, {1, 40, 17}},
                      DecayCase{"wide_state_rows", -1.0f, -0.01f, 0.0f, true, 1, 200, 8, {19, 1}},
                      DecayCase{"chunk_lengths_with_starts", -0.5f, -0.001f, 0.0f, true, 2, 32, 48, kChunkLengths},
                      DecayCase{"chunk_lengths_zero_starts", -0.5f, -0.001f, 0.0f, false, 2, 32, 48, kChunkLengths},
                      DecayCase{"chunk_lengths_strong_decays", -1.0f, -0.01f, 0.1f, true, 2, 24, 40, kChunkLengths},
                      DecayCase{"qwen_head_dims_chunks", -1.0f, -0.01f, 0.0f, true, 1, 128, 128, {65, 1, 130}},
                      // More result tiles than a block's threads hold at once (products in passes).
                      DecayCase{"wide_state_tiles", -1.0f, -0.01f, 0.0f, true, 1, 160, 40, {70, 3}},
                      DecayCase{"decode_step_batch", -1.0f, -0.01f, 0.0f, true, 3, 128, 128,
                                single_tokens(90, {5})},
                      DecayCase{"decode_step_zero_starts", -1.0f, -0.01f, 0.0f, false, 3, 128, 128,
                                single_tokens(90, {})},
                      // Rows of 130 floats: no multiple of 16 bytes.
                      DecayCase{"decode_step_odd_rows", -1.0f, -0.01f, 0.0f, true, 4, 32, 130, single_tokens(40, {3})},
                      // An odd number of columns: the step kernel's wide tiles read and write the
                      // state one element at a time instead of two.
                      DecayCase{"decode_step_odd_columns", -1.0f, -0.01f, 0.0f, true, 2, 64, 131,
                                single_tokens(70, {})},
                      DecayCase{"decode_step_wide_keys", -1.0f, -0.01f, 0.0f, true, 2, 200, 72,
                                single_tokens(140, {})}),
    [](const ::testing::TestParamInfo<DecayCase>& info) { return std::string(info.param.name); });

class CudaSsd : public ::testing::TestWithParam<DecayCase> {};

TEST_P(CudaSsd, MatchesCpu) {
  S0_REQUIRE_GPU();
  expect_matches_cpu(ssd_run, ssd_inputs(GetParam(), 7));
}

TEST_P(CudaSsd, RepeatableAndBatchInvariant) {
  S0_REQUIRE_GPU();
  expect_repeatable_and_batch_invariant(ssd_run, ssd_inputs(GetParam(), 9));
}

// TF32 products, as for the gated delta rule above (the largest difference measured on an H200 over
// these cases: 6.9e-4, ddt of some_strong_decays; 3xTF32's was 4.9e-7).
TEST_P(CudaSsd, Tf32ProductsMatchCpuWithinTf32Rounding) {
  S0_REQUIRE_GPU();
  expect_tf32_matches_cpu(ssd_run, ssd_run_tf32, ssd_inputs(GetParam(), 7), kTf32Bound);
}

TEST_P(CudaSsd, Tf32ProductsRepeatableAndBatchInvariant) {
  S0_REQUIRE_GPU();
  expect_repeatable_and_batch_invariant(ssd_run_tf32, ssd_inputs(GetParam(), 9));
}

INSTANTIATE_TEST_SUITE_P(
    Decays, CudaSsd,
    ::testing::Values(DecayCase{"weak_decay_with_starts", 0.001f, 0.1f, 0.0f, true, 4, 8, 16, kLengths},
                      DecayCase{"weak_decay_zero_starts", 0.001f, 0.1f, 0.0f, false, 4, 8, 16, kLengths},
                      DecayCase{"mixed_decays", 0.001f, 10.0f, 0.0f, true, 4, 12, 16, kLengths},
                      DecayCase{"some_strong_decays", 0.001f, 0.1f, 0.1f, true, 2, 8, 16, kLengths},
                      DecayCase{"falcon_head_dims", 0.001f, 0.1f, 0.0f, true, 2, 128, 256, {1, 40, 17}},
                      DecayCase{"wide_head", 0.001f, 0.1f, 0.0f, true, 2, 200, 16, {19, 1}},
                      DecayCase{"chunk_lengths_with_starts", 0.001f, 0.1f, 0.0f, true, 4, 40, 24, kChunkLengths},
                      DecayCase{"chunk_lengths_zero_starts", 0.001f, 0.1f, 0.0f, false, 4, 40, 24, kChunkLengths},
                      DecayCase{"chunk_lengths_strong_decays", 0.001f, 0.1f, 0.1f, true, 2, 8, 16, kChunkLengths}),
    [](const ::testing::TestParamInfo<DecayCase>& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace s0::test
