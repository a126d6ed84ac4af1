// GatedDeltaNet's fused decode step on the GPU (ops/gated_delta_decode.h, then the step kernel)
// against the CPU's unfused ops on the same rows, over several consecutive decode steps of a batch
// whose sequences carry different caches: a first token (empty window, zero state), a first token
// from an adapter's start state, and sequences well into generation (a filled window and a carried
// state, with and without an adapter underneath, which the carried state overrides). Grouped heads
// (nk != nv) throughout. Then the GPU's results twice, bit for bit, and every sequence's steps run
// alone against its place in the batch, bit for bit.
//
// Tolerances, as cuda_sequence_test.cpp's (max |gpu - cpu| over max |cpu| per tensor): 1e-6 for the
// conv's outputs and the gates, 1e-5 for the recurrence's output and carried states; the windows
// are copies, so they match bit for bit. The measured differences are printed.
#include <gtest/gtest.h>

#include <cmath>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include "gpu_compare.h"
#include "gpu_test_inputs.h"
#include "ops/columns.h"
#include "ops/conv1d.h"
#include "ops/gated_delta.h"
#include "ops/gated_delta_decode.h"
#include "ops/gates.h"
#include "ops/heads.h"

namespace s0::test {
namespace {

using ops::SequenceStart;

constexpr float kEps = 1e-6f;
constexpr double kConvTol = 1e-6, kRecurrenceTol = 1e-5;
constexpr int kSteps = 3;

struct DecodeCase {
  const char* name;
  int64_t nk, nv, dk, dv, K, n_seqs;
};

void PrintTo(const DecodeCase& c, std::ostream* os) { *os << c.name; }

// The layer's projection: q | k | v (the conv's input) | z | b | a, z there so that the columns the
// op reads are strided views as in the model.
struct DecodeWeights {
  Tensor conv_w, neg_A, dt_bias;
};

int64_t conv_dim(const DecodeCase& c) { return 2 * c.nk * c.dk + c.nv * c.dv; }
int64_t proj_width(const DecodeCase& c) { return conv_dim(c) + c.nv * c.dv + 2 * c.nv; }

// What a sequence's cache holds before the first step (on the host).
struct CacheStart {
  Tensor initial, carried, window;  // each may be empty
};

std::vector<CacheStart> cache_starts(const DecodeCase& c, std::mt19937& rng) {
  const Shape state{c.nv, c.dk, c.dv}, window{c.K - 1, conv_dim(c)};
  std::vector<CacheStart> out(static_cast<size_t>(c.n_seqs));
  for (int64_t s = 0; s < c.n_seqs; ++s) {
    CacheStart& cs = out[static_cast<size_t>(s)];
    switch (s % 4) {
      case 0: break;  // the first token, from zeros
      case 1: cs.initial = uniform(state, -1, 1, rng); break;  // the first token, from an adapter
      case 3: cs.initial = uniform(state, -1, 1, rng); [[fallthrough]];  // into generation, adapter beneath
      default:
        cs.carried = uniform(state, -1, 1, rng);
        cs.window = uniform(window, -1, 1, rng);
    }
  }
  return out;
}

// One device's caches and the outputs of every step.
struct DecodeRun {
  std::vector<Tensor> carried, windows;
  std::vector<std::vector<std::pair<std::string, Tensor>>> steps;  // per step: q, k, v, g, beta, o
};

// The rows of each step's projection (host), random; sequences' rows in order.
std::vector<Tensor> step_rows(const DecodeCase& c, std::mt19937& rng) {
  std::vector<Tensor> rows;
  for (int step = 0; step < kSteps; ++step) rows.push_back(uniform({c.n_seqs, proj_width(c)}, -1, 1, rng));
  return rows;
}

// kSteps decode steps of the sequences `which` on `device`: fused on a GPU, the unfused ops (the
// layer's prefill path) on the CPU.
DecodeRun decode_run(const DecodeCase& c, Device device, const DecodeWeights& w, const std::vector<CacheStart>& caches,
                     const std::vector<Tensor>& rows, const std::vector<int64_t>& which) {
  const int64_t n = static_cast<int64_t>(which.size()), C = conv_dim(c);
  const float q_scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(c.dk)));
  // Copies, also on the CPU: the caches move on in place, and every run starts from the same ones.
  auto to = [&](const Tensor& t) { return t.empty() ? Tensor() : t.to(device).clone(); };
  const Tensor conv_w = to(w.conv_w), neg_A = to(w.neg_A), dt_bias = to(w.dt_bias);
  DecodeRun r;
  std::vector<SequenceStart> starts(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    const CacheStart& cs = caches[static_cast<size_t>(which[static_cast<size_t>(i)])];
    r.carried.push_back(to(cs.carried));
    r.windows.push_back(to(cs.window));
  }
  for (int64_t i = 0; i < n; ++i) {
    starts[static_cast<size_t>(i)].initial = to(caches[static_cast<size_t>(which[static_cast<size_t>(i)])].initial);
    starts[static_cast<size_t>(i)].carried = &r.carried[static_cast<size_t>(i)];
    starts[static_cast<size_t>(i)].window = &r.windows[static_cast<size_t>(i)];
  }
  const Varlen seqs = packed(std::vector<int64_t>(static_cast<size_t>(n), 1));
  for (const Tensor& all_rows : rows) {
    std::vector<float> picked;
    for (int64_t s : which) {
      const Tensor row = rows_of(all_rows, s, 1);
      picked.insert(picked.end(), row.f32(), row.f32() + row.numel());
    }
    const Tensor proj = to(Tensor::from({n, proj_width(c)}, picked));
    const ops::Columns qkv = ops::columns(proj, 0, C), b = ops::columns(proj, C + c.nv * c.dv, c.nv),
                       a = ops::columns(proj, C + c.nv * c.dv + c.nv, c.nv);
    ops::GatedDeltaStepInputs in;
    if (device.is_cpu()) {
      Tensor conv_out = Tensor::empty({n, C}, DType::F32, device), pre = Tensor::empty({n, C}, DType::F32, device);
      ops::conv1d_silu_forward(qkv, conv_w, Tensor(), seqs, starts, conv_out, pre);
      Tensor q_rnorm = Tensor::empty({n * c.nk}, DType::F32, device), k_rnorm = q_rnorm.clone();
      in.q = ops::l2norm_expand_heads(ops::columns(conv_out, 0, c.nk * c.dk), c.nk, c.nv, kEps, q_scale, q_rnorm);
      in.k =
          ops::l2norm_expand_heads(ops::columns(conv_out, c.nk * c.dk, c.nk * c.dk), c.nk, c.nv, kEps, 1.0f, k_rnorm);
      in.v = ops::copy_columns(ops::columns(conv_out, 2 * c.nk * c.dk, c.nv * c.dv)).reshaped({n, c.nv, c.dv});
      in.g = Tensor::empty({n, c.nv}, DType::F32, device);
      in.beta = Tensor::empty({n, c.nv}, DType::F32, device);
      ops::gated_delta_gates_forward(b, a, neg_A, dt_bias, in.beta, in.g);
    } else {
      EXPECT_TRUE(ops::gated_delta_decode_fused(seqs, device));
      in = ops::gated_delta_decode_inputs(qkv, b, a, conv_w, neg_A, dt_bias, {c.nk, c.nv, c.dk, c.dv}, kEps, q_scale,
                                          starts);
    }
    Tensor o = Tensor::empty({n, c.nv, c.dv}, DType::F32, device);
    ops::gated_delta_forward(in.q, in.k, in.v, in.g, in.beta, seqs, starts, o, nullptr);
    r.steps.push_back({{"q", on_cpu(in.q)}, {"k", on_cpu(in.k)}, {"v", on_cpu(in.v)}, {"g", on_cpu(in.g)},
                       {"beta", on_cpu(in.beta)}, {"o", on_cpu(o)}});
  }
  for (Tensor& t : r.carried) t = on_cpu(t);
  for (Tensor& t : r.windows) t = on_cpu(t);
  return r;
}

struct DecodeInputs {
  DecodeWeights w;
  std::vector<CacheStart> caches;
  std::vector<Tensor> rows;
};

DecodeInputs decode_inputs(const DecodeCase& c, uint32_t seed) {
  std::mt19937 rng(seed);
  DecodeInputs in;
  in.w = {uniform({conv_dim(c), c.K}, -0.5f, 0.5f, rng), uniform({c.nv}, -2.0f, -0.1f, rng),
          uniform({c.nv}, -1, 1, rng)};
  in.caches = cache_starts(c, rng);
  in.rows = step_rows(c, rng);
  return in;
}

std::vector<int64_t> all_sequences(const DecodeCase& c) {
  std::vector<int64_t> out;
  for (int64_t s = 0; s < c.n_seqs; ++s) out.push_back(s);
  return out;
}

class CudaGatedDeltaDecode : public ::testing::TestWithParam<DecodeCase> {};

TEST_P(CudaGatedDeltaDecode, MatchesCpuDecodeSteps) {
  S0_REQUIRE_GPU();
  const DecodeCase& c = GetParam();
  const DecodeInputs in = decode_inputs(c, 7);
  const DecodeRun cpu = decode_run(c, Device::cpu(), in.w, in.caches, in.rows, all_sequences(c));
  const DecodeRun gpu = decode_run(c, Device::cuda(0), in.w, in.caches, in.rows, all_sequences(c));
  for (int step = 0; step < kSteps; ++step)
    for (size_t i = 0; i < cpu.steps[static_cast<size_t>(step)].size(); ++i) {
      const auto& [name, expected] = cpu.steps[static_cast<size_t>(step)][i];
      const double diff = relative_difference(expected, gpu.steps[static_cast<size_t>(step)][i].second);
      std::cout << "  step " << step << " " << name << ": " << diff << "\n";
      EXPECT_LE(diff, name == "o" ? kRecurrenceTol : kConvTol) << name << " of step " << step;
    }
  for (size_t s = 0; s < cpu.carried.size(); ++s) {
    EXPECT_LE(relative_difference(cpu.carried[s], gpu.carried[s]), kRecurrenceTol) << "carried state " << s;
    EXPECT_TRUE(bit_identical(cpu.windows[s], gpu.windows[s])) << "window of sequence " << s;
  }
}

// Twice the same bits; each sequence's steps alone give the bits it gets in the batch.
TEST_P(CudaGatedDeltaDecode, RepeatableAndBatchInvariant) {
  S0_REQUIRE_GPU();
  const DecodeCase& c = GetParam();
  const DecodeInputs in = decode_inputs(c, 11);
  const DecodeRun batch = decode_run(c, Device::cuda(0), in.w, in.caches, in.rows, all_sequences(c));
  const DecodeRun again = decode_run(c, Device::cuda(0), in.w, in.caches, in.rows, all_sequences(c));
  for (int step = 0; step < kSteps; ++step)
    for (size_t i = 0; i < batch.steps[static_cast<size_t>(step)].size(); ++i)
      EXPECT_TRUE(bit_identical(batch.steps[static_cast<size_t>(step)][i].second,
                                again.steps[static_cast<size_t>(step)][i].second))
          << batch.steps[static_cast<size_t>(step)][i].first << " of step " << step << " again";
  for (int64_t s = 0; s < c.n_seqs; ++s) {
    const DecodeRun one = decode_run(c, Device::cuda(0), in.w, in.caches, in.rows, {s});
    for (int step = 0; step < kSteps; ++step)
      for (size_t i = 0; i < one.steps[static_cast<size_t>(step)].size(); ++i) {
        const auto& [name, alone] = one.steps[static_cast<size_t>(step)][i];
        EXPECT_TRUE(bit_identical(alone, rows_of(batch.steps[static_cast<size_t>(step)][i].second, s, 1)))
            << name << " of sequence " << s << " alone, step " << step;
      }
    EXPECT_TRUE(bit_identical(one.carried[0], batch.carried[static_cast<size_t>(s)])) << "carried state " << s;
    EXPECT_TRUE(bit_identical(one.windows[0], batch.windows[static_cast<size_t>(s)])) << "window " << s;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, CudaGatedDeltaDecode,
    ::testing::Values(DecodeCase{"grouped_heads", 2, 4, 32, 48, 4, 6},
                      // Qwen3.5's head widths; enough items for the step kernel's wide tiles.
                      DecodeCase{"qwen_heads_batch", 2, 4, 128, 128, 4, 70},
                      // Keys wider than a block's threads; rows of 72 floats; three taps.
                      DecodeCase{"wide_keys", 1, 3, 200, 72, 3, 5}),
    [](const ::testing::TestParamInfo<DecodeCase>& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace s0::test
