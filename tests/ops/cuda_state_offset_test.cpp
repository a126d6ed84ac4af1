// The CUDA state-offset read-out (ops/state_offset.h) against the CPU op on the same random inputs:
// both state layouts, read heads shared by groups of heads (GQA) or one per head, a packed batch
// mixing sequences with an offset, without one, a decode-like single token and lengths past a
// warp; forward and backward (the read gradient added to what is there, each offset's gradient
// replacing its sequence's entry, other entries untouched). Run twice for the same bits, and one
// sequence alone for the bits it gets inside the batch. Skipped, saying why, without a GPU.
//
// Tolerance: 1e-6 (max |gpu - cpu| over max |cpu| per tensor): both devices sum every result's
// terms in the same order, so only fused multiply-adds can tell them apart. The measured
// differences are printed.
#include <gtest/gtest.h>

#include <iostream>
#include <random>
#include <string>
#include <vector>

#include "gpu_compare.h"
#include "gpu_test_inputs.h"
#include "ops/state_offset.h"

namespace s0::test {
namespace {

using ops::OffsetLayout;
using ops::SequenceStart;

struct Case {
  const char* name;
  OffsetLayout layout;
  int64_t Hr, H, K, V;
};

Shape offset_shape(const Case& c) {
  return c.layout == OffsetLayout::KeyFirst ? Shape{c.H, c.K, c.V} : Shape{c.H, c.V, c.K};
}

// What the recurrence's backward leaves in every sequence's adapter-gradient entry before the op
// (an initial-state gradient): here a marker, to see which entries the op replaced.
Tensor marker(const Case& c) { return Tensor::from(offset_shape(c), std::vector<float>(static_cast<size_t>(numel_of(offset_shape(c))), 7.0f)); }

// Lengths: a single token (a decode step), past a warp, short ones, one past 64; every other
// sequence (0, 2, 4) has an offset of its own.
const std::vector<int64_t> kLengths = {37, 1, 70, 5, 1};

struct Inputs {
  Varlen seqs = packed(kLengths);
  Tensor read, base, d_out, d_read_before;
  std::vector<Tensor> offsets;  // per sequence, empty = none
};

Inputs inputs(const Case& c, std::mt19937& rng) {
  Inputs in;
  const int64_t N = in.seqs.rows();
  in.read = uniform({N, c.Hr, c.K}, -1.0f, 1.0f, rng);
  in.base = uniform({N, c.H, c.V}, -1.0f, 1.0f, rng);  // what the recurrence wrote
  in.d_out = uniform({N, c.H, c.V}, -1.0f, 1.0f, rng);
  in.d_read_before = uniform({N, c.Hr, c.K}, -1.0f, 1.0f, rng);  // what the recurrence's backward wrote
  for (size_t s = 0; s < kLengths.size(); ++s)
    in.offsets.push_back(s % 2 == 0 ? uniform(offset_shape(c), -0.5f, 0.5f, rng) : Tensor());
  return in;
}

struct Outputs {
  Tensor out, d_read;
  std::vector<Tensor> d_adapter;
};

// The forward and backward on `d` over sequences [first, first + count) of the inputs.
Outputs run(Device d, const Case& c, const Inputs& in, size_t first, size_t count) {
  auto to = [&](const Tensor& t) { return d.is_cpu() ? on_cpu(t) : on_gpu(t); };
  const int64_t b = in.seqs.begin(static_cast<int64_t>(first));
  const int64_t rows = in.seqs.offsets[first + count] - b;
  Varlen seqs{{0}};
  std::vector<SequenceStart> starts(count);
  Outputs r;
  for (size_t s = 0; s < count; ++s) {
    seqs.offsets.push_back(seqs.offsets.back() + kLengths[first + s]);
    starts[s].offset = to(in.offsets[first + s]);
    r.d_adapter.push_back(to(marker(c)));
  }
  const Tensor read = to(rows_of(in.read, b, rows));
  r.out = to(rows_of(in.base, b, rows));
  ops::state_offset_forward(read, seqs, starts, c.layout, r.out);
  r.d_read = to(rows_of(in.d_read_before, b, rows));
  ops::state_offset_backward(read, seqs, starts, c.layout, to(rows_of(in.d_out, b, rows)), r.d_read, &r.d_adapter);
  return r;
}

class CudaStateOffset : public ::testing::TestWithParam<Case> {};

TEST_P(CudaStateOffset, MatchesTheCpuForwardAndBackward) {
  S0_REQUIRE_GPU();
  const Case c = GetParam();
  std::mt19937 rng(3);
  const Inputs in = inputs(c, rng);
  const size_t n = kLengths.size();
  const Outputs cpu = run(Device::cpu(), c, in, 0, n), gpu = run(Device::cuda(0), c, in, 0, n);
  expect_close("out", cpu.out, gpu.out, 1e-6);
  expect_close("d_read", cpu.d_read, gpu.d_read, 1e-6);
  for (size_t s = 0; s < n; ++s) {
    if (in.offsets[s].empty()) {
      // No offset: its rows and its adapter entry are left as they were.
      const int64_t b = in.seqs.begin(static_cast<int64_t>(s)), L = kLengths[s];
      EXPECT_TRUE(bit_identical(rows_of(gpu.out, b, L), rows_of(in.base, b, L))) << "sequence " << s;
      EXPECT_TRUE(bit_identical(rows_of(gpu.d_read, b, L), rows_of(in.d_read_before, b, L))) << "sequence " << s;
      EXPECT_TRUE(bit_identical(gpu.d_adapter[s], marker(c))) << "sequence " << s;
      continue;
    }
    expect_close("d_offset of sequence " + std::to_string(s), cpu.d_adapter[s], gpu.d_adapter[s], 1e-6);
  }
}

TEST_P(CudaStateOffset, RepeatsAndDoesNotDependOnTheBatch) {
  S0_REQUIRE_GPU();
  const Case c = GetParam();
  std::mt19937 rng(4);
  const Inputs in = inputs(c, rng);
  const size_t n = kLengths.size();
  const Outputs a = run(Device::cuda(0), c, in, 0, n), b = run(Device::cuda(0), c, in, 0, n);
  EXPECT_TRUE(bit_identical(a.out, b.out) && bit_identical(a.d_read, b.d_read)) << "not repeatable";
  for (size_t s = 0; s < n; ++s) EXPECT_TRUE(bit_identical(a.d_adapter[s], b.d_adapter[s])) << "sequence " << s;
  // The third sequence (70 tokens, with an offset) alone.
  const Outputs one = run(Device::cuda(0), c, in, 2, 1);
  const int64_t begin = in.seqs.begin(2), L = kLengths[2];
  EXPECT_TRUE(bit_identical(one.out, rows_of(a.out, begin, L))) << "out depends on the batch";
  EXPECT_TRUE(bit_identical(one.d_read, rows_of(a.d_read, begin, L))) << "d_read depends on the batch";
  EXPECT_TRUE(bit_identical(one.d_adapter[0], a.d_adapter[2])) << "d_offset depends on the batch";
}

INSTANTIATE_TEST_SUITE_P(Layouts, CudaStateOffset,
                         ::testing::Values(Case{"gated_delta_grouped", OffsetLayout::KeyFirst, 2, 6, 16, 24},
                                           Case{"gated_delta_per_head", OffsetLayout::KeyFirst, 4, 4, 32, 8},
                                           Case{"mamba2_one_group", OffsetLayout::KeyLast, 1, 8, 12, 8},
                                           Case{"mamba2_two_groups", OffsetLayout::KeyLast, 2, 4, 16, 6}),
                         [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace s0::test
