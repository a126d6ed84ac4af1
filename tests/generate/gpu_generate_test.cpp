// Generation on a GPU against the CPU's: token picking on the GPU (argmax, and sampled draws) gives
// the host's tokens for the same logits; greedy and sampled decoding
// of float32 models give the CPU's tokens; a mixed-adapter batch gives each sequence what it gets
// alone. Skipped without a GPU.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <string>

#include "generate/generator.h"
#include "generate/loaded_fixture.h"
#include "generate/next_tokens.h"
#include "model/arch/registry.h"
#include "model/model_on_device.h"
#include "ops/gpu_compare.h"
#include "support/small_models.h"
#include "support/test_support.h"

using namespace s0;

namespace {

// Logits [rows, vocab] with ties (quarter steps) and both zeros; even rows peaked, odd rows flat
// (at top_p 1 and no top_k their nucleus is most of the row, so the GPU's draw walks several of
// its 2048-token tiles).
Tensor test_logits(int64_t rows, int64_t vocab, uint64_t seed) {
  std::mt19937_64 rng(seed);
  Tensor t = Tensor::zeros({rows, vocab});
  for (int64_t r = 0; r < rows; ++r) {
    std::normal_distribution<float> n(0.0f, r % 2 == 0 ? 4.0f : 0.2f);
    float* row = t.f32_mut() + r * vocab;
    for (int64_t j = 0; j < vocab; ++j) row[j] = std::round(n(rng) * 4.0f) / 4.0f;
    row[r] = -0.0f;
    row[r + 1] = 0.0f;
  }
  return t;
}

std::vector<StateSet> random_adapters(const HybridModel& model, int count, Device device) {
  std::vector<StateSet> out(static_cast<size_t>(count));
  std::mt19937 rng(7);
  std::normal_distribution<float> noise(0.0f, 0.3f);
  for (StateSet& s : out)
    for (const RecurrentLayer& r : model.recurrent) {
      Tensor t = Tensor::zeros(r.state_shape);
      for (int64_t i = 0; i < t.numel(); ++i) t.f32_mut()[i] = noise(rng);
      s.states.push_back(t.to(device));
    }
  return out;
}

std::vector<GenerationRequest> requests_with(const std::vector<StateSet>& adapters) {
  std::vector<GenerationRequest> reqs;
  for (size_t i = 0; i < adapters.size() + 1; ++i) {
    std::vector<int64_t> prompt;
    for (size_t t = 0; t < 5 + 3 * i; ++t) prompt.push_back(static_cast<int64_t>((i * 37 + t * 11) % 300));
    reqs.push_back({prompt, i < adapters.size() ? &adapters[i] : nullptr, i});
  }
  return reqs;
}

// Row r of `logits` (on the host) sampled with options[r] (stream r) for `steps` steps on the GPU
// and on the host: the same tokens at every step.
void expect_the_hosts_tokens(const Tensor& logits, const std::vector<SamplingOptions>& options, int steps,
                             const std::string& what) {
  const Tensor gpu = test::on_gpu(logits);
  std::vector<TokenSampler> on_cpu, on_gpu;
  for (size_t r = 0; r < options.size(); ++r) {
    on_cpu.emplace_back(options[r], static_cast<uint64_t>(r));
    on_gpu.emplace_back(options[r], static_cast<uint64_t>(r));
  }
  std::vector<TokenSampler*> a, b;
  for (size_t r = 0; r < options.size(); ++r) {
    a.push_back(&on_cpu[r]);
    b.push_back(&on_gpu[r]);
  }
  for (int step = 0; step < steps; ++step)
    EXPECT_EQ(next_tokens(gpu, b).on_host(), next_tokens(logits, a).on_host()) << what;
}

}  // namespace

TEST(GpuSampling, TokensEqualTheHostsForTheSameLogits) {
  S0_REQUIRE_GPU();
  const int64_t rows = 8, vocab = 10007;
  const std::vector<SamplingOptions> settings = {
      {0.0, 1.0, 0, 0},  {1.0, 1.0, 0, 0},   {0.7, 0.9, 0, 0},  {1.3, 0.95, 40, 0},
      {2.0, 1.0, 1, 0},  {0.5, 1e-9, 0, 0},  {1.0, 0.5, 10000, 0}, {4.0, 1.0, 5000, 0}};
  for (uint64_t seed = 0; seed < 6; ++seed) {
    std::vector<SamplingOptions> options;
    for (int64_t r = 0; r < rows; ++r) {
      options.push_back(settings[static_cast<size_t>((r + static_cast<int64_t>(seed)) % rows)]);
      options.back().seed = seed;
    }
    expect_the_hosts_tokens(test_logits(rows, vocab, seed), options, 5, "seed " + std::to_string(seed));
  }
  // Rows whose every weight is 0 (NaN everywhere; an infinite top logit) draw what the host draws.
  Tensor broken = test_logits(2, vocab, 9);
  for (int64_t j = 0; j < vocab; ++j) broken.f32_mut()[j] = std::numeric_limits<float>::quiet_NaN();
  broken.f32_mut()[vocab + 17] = std::numeric_limits<float>::infinity();
  const Tensor broken_gpu = test::on_gpu(broken);
  for (const SamplingOptions& o :
       {SamplingOptions{0.0, 1.0, 0, 3}, SamplingOptions{1.0, 1.0, 0, 3}, SamplingOptions{0.7, 0.95, 100, 3}}) {
    TokenSampler c0(o, 0), c1(o, 1), g0(o, 0), g1(o, 1);
    EXPECT_EQ(next_tokens(broken_gpu, {&g0, &g1}).on_host(), next_tokens(broken, {&c0, &c1}).on_host());
  }
}

// Rows of Qwen3.5's vocabulary without ties, flat (a nucleus of most of the row: the draw's
// radix descent fixes every digit of the order bits among many close logits) and peaked, with the
// settings `s0 collect` uses, a top_k that cuts through the row, and greedy (the argmax's blocks
// each take a slice of a row): the host's tokens.
TEST(GpuSampling, RowsOfALargeVocabularyDrawTheHostsTokens) {
  S0_REQUIRE_GPU();
  const int64_t rows = 8, vocab = 248320;
  const std::vector<SamplingOptions> settings = {
      {0.7, 0.95, 0, 0}, {1.0, 1.0, 50, 0}, {0.6, 0.9, 100000, 0}, {0.0, 1.0, 0, 0}};
  for (uint64_t seed = 0; seed < 2; ++seed) {
    std::mt19937_64 rng(seed);
    Tensor cpu = Tensor::zeros({rows, vocab});
    for (int64_t r = 0; r < rows; ++r) {
      std::normal_distribution<float> n(0.0f, r % 2 == 0 ? 0.3f : 6.0f);
      for (int64_t j = 0; j < vocab; ++j) cpu.f32_mut()[r * vocab + j] = n(rng);
    }
    std::vector<SamplingOptions> options;
    for (int64_t r = 0; r < rows; ++r) {
      options.push_back(settings[static_cast<size_t>(r / 2)]);
      options.back().seed = seed;
    }
    expect_the_hosts_tokens(cpu, options, 3, "seed " + std::to_string(seed));
  }
}

// Greedy tokens on the GPU (float32) are the CPU's, on every fixture, up to a step where the CPU's
// top two logits are within rounding (1e-3, as check-reference allows against the reference).
TEST(GpuGenerate, GreedyTokensEqualTheCpusOnTheFixtures) {
  S0_REQUIRE_GPU();
  for (const std::string& name : test::fixture_model_names()) {
    const test::LoadedFixture L(name);
    const HybridModel gpu = model_on(L.model, Device::cuda(0), DType::F32);
    StateSet s0_gpu;
    for (const Tensor& s : L.fx.s0.states) s0_gpu.states.push_back(test::on_gpu(s));
    GenerationOptions go;
    go.max_new_tokens = 16;
    go.keep_logits = true;
    for (bool with_s0 : {false, true}) {
      const std::vector<int64_t> prompt = L.prompt(0, L.fx.prompt_lens[0]);
      const Generation want = generate(L.model, {{prompt, with_s0 ? &L.fx.s0 : nullptr, 0}}, go).at(0);
      const Generation got = generate(gpu, {{prompt, with_s0 ? &s0_gpu : nullptr, 0}}, go).at(0);
      size_t i = 0;
      while (i < want.tokens.size() && i < got.tokens.size() && want.tokens[i] == got.tokens[i]) ++i;
      if (i == want.tokens.size() && i == got.tokens.size()) continue;
      ASSERT_LT(i, want.logits.size()) << name;
      std::vector<float> row = want.logits[i];
      std::partial_sort(row.begin(), row.begin() + 2, row.end(), std::greater<float>());
      EXPECT_LT(row[0] - row[1], 1e-3) << name << (with_s0 ? " with S0" : "") << ": tokens differ at step " << i;
    }
  }
}

// A random float32 model: greedy and sampled tokens on the GPU are the CPU's for the same seeds,
// in a batch whose sequences have different adapters; and on the GPU each sequence of that batch
// gets what it gets alone.
TEST(GpuGenerate, RandomModelMatchesTheCpuAndMixedAdaptersMatchAlone) {
  S0_REQUIRE_GPU();
  test::TempDir dir;
  write_random_qwen35(dir.path(), test::small_qwen35(2));
  const HybridModel cpu = load_model(dir.path());
  const HybridModel gpu = model_on(cpu, Device::cuda(0), DType::F32);
  const std::vector<StateSet> cpu_adapters = random_adapters(cpu, 3, Device::cpu());
  const std::vector<StateSet> gpu_adapters = random_adapters(cpu, 3, Device::cuda(0));
  for (const SamplingOptions& sampling : {SamplingOptions{0.0, 1.0, 0, 0}, SamplingOptions{0.9, 0.9, 0, 4},
                                          SamplingOptions{1.2, 1.0, 20, 5}}) {
    GenerationOptions go;
    go.max_new_tokens = 24;
    go.sampling = sampling;
    go.keep_logits = true;
    const std::vector<Generation> want = generate(cpu, requests_with(cpu_adapters), go);
    const std::vector<Generation> together = generate(gpu, requests_with(gpu_adapters), go);
    go.batch = 1;
    const std::vector<Generation> alone = generate(gpu, requests_with(gpu_adapters), go);
    for (size_t i = 0; i < want.size(); ++i) {
      EXPECT_EQ(together[i].tokens, want[i].tokens) << "sequence " << i << " T " << sampling.temperature;
      EXPECT_EQ(together[i].tokens, alone[i].tokens) << "sequence " << i << " T " << sampling.temperature;
      ASSERT_EQ(together[i].logits.size(), alone[i].logits.size());
      for (size_t s = 0; s < alone[i].logits.size(); ++s) {
        const std::vector<float>& x = together[i].logits[s];
        const std::vector<float>& y = alone[i].logits[s];
        double diff = 0, scale = 0;
        for (size_t j = 0; j < x.size(); ++j) {
          diff = std::max(diff, std::abs(static_cast<double>(x[j]) - y[j]));
          scale = std::max(scale, std::abs(static_cast<double>(y[j])));
        }
        EXPECT_LE(diff, 1e-4 * scale) << "sequence " << i << " step " << s;
      }
    }
  }
}
