#pragma once
// Shared by the model benchmarks: the cached random checkpoints, wall-clock timing of a forward and
// of a decode step, the machine's measured OpenBLAS GEMM rate, and FLOP counts of a forward.
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "generate/generator.h"
#include "model/arch/random_qwen35.h"
#include "model/forward.h"
#include "model/model.h"
#include "model/model_on_device.h"
#include "ops/linear.h"

namespace s0::bench {

// A random checkpoint in the temp folder under `name`, written once by write(dir).
inline std::filesystem::path cached_random_checkpoint(const std::string& name,
                                                      const std::function<void(const std::filesystem::path&)>& write) {
  const auto dir = std::filesystem::temp_directory_path() / name;
  if (!std::filesystem::exists(dir / "model.safetensors")) {
    std::printf("writing the random checkpoint to %s ...\n", dir.c_str());
    std::fflush(stdout);
    write(dir);
  }
  return dir;
}

inline std::filesystem::path random_qwen35_dir(const std::string& name, const Qwen35Dims& dims) {
  return cached_random_checkpoint(name, [&](const std::filesystem::path& dir) { write_random_qwen35(dir, dims); });
}

// The benchmark model of the 0.8B shape (BF16, ~1.6 GB).
inline std::filesystem::path qwen35_08b_dir() { return random_qwen35_dir("s0-bench-qwen35-0.8b", Qwen35Dims{}); }

// Qwen3.5-4B's shape: hidden 2560, 32 layers (24 GatedDeltaNet, 3:1 with attention), attention 16
// query / 4 KV heads of dim 256 with partial rotary 0.25, linear attention 16 key / 32 value heads of
// dim 128, conv 4, MLP 9216, vocab 248320 tied (BF16, ~8.4 GB); `layers` fewer for quick runs.
inline Qwen35Dims qwen35_4b_dims(int64_t layers = 32) {
  Qwen35Dims d;
  d.hidden = 2560;
  d.layers = layers;
  d.intermediate = 9216;
  d.linear_k_heads = 16;
  d.linear_v_heads = 32;
  d.heads = 16;
  d.kv_heads = 4;
  return d;
}
inline std::filesystem::path qwen35_4b_dir(int64_t layers = 32) {
  return random_qwen35_dir("s0-bench-qwen35-4b-" + std::to_string(layers), qwen35_4b_dims(layers));
}

// `--dtype f32|bf16` anywhere on the command line (removed from argv, so the positional arguments
// keep their places): the weight matrices' dtype, as the CLI's --dtype. Unset: as stored (bf16 for
// the benchmark checkpoints).
inline std::optional<DType> take_dtype_flag(int& argc, char** argv) {
  std::optional<DType> dtype;
  for (int i = 1; i + 1 < argc; ++i)
    if (std::strcmp(argv[i], "--dtype") == 0) {
      const std::string v = argv[i + 1];
      if (v != "f32" && v != "bf16") {
        std::fprintf(stderr, "--dtype %s: expected f32 or bf16\n", v.c_str());
        std::exit(2);
      }
      dtype = v == "bf16" ? DType::BF16 : DType::F32;
      for (int j = i; j + 2 < argc + 1; ++j) argv[j] = argv[j + 2];
      argc -= 2;
      break;
    }
  return dtype;
}

// The model in `dir` on the CPU with the chosen matrices, saying which mode it runs.
inline HybridModel load_bench_model(const std::filesystem::path& dir, std::optional<DType> dtype) {
  HybridModel m = load_model_on(dir, Device::cpu(), dtype);
  std::printf("weights: %s matrices (--dtype %s)\n", dtype_name(m.embed.dtype()),
              dtype ? dtype_name(*dtype) : "unset: as stored");
  return m;
}

inline double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Best of `reps` runs of f, in seconds.
template <typename F>
double best_of(int reps, F&& f) {
  double best = 1e30;
  for (int r = 0; r < reps; ++r) {
    auto t0 = std::chrono::steady_clock::now();
    f();
    best = std::min(best, seconds_since(t0));
  }
  return best;
}

// The best of `reps` forwards over one sequence of T tokens with logits for the last one, in
// seconds, after a warm-up forward that pages in the weights.
inline double time_forward(const HybridModel& model, int64_t T, int reps) {
  std::vector<int64_t> ids(static_cast<size_t>(T));
  for (int64_t i = 0; i < T; ++i) ids[i] = (i * 7919) % model.vocab;
  const PackedBatch batch = PackedBatch::from_sequences({ids});
  ForwardOptions opt;
  opt.logit_rows = {T - 1};
  forward(model, batch, opt);
  return best_of(reps, [&] { forward(model, batch, opt); });
}

// The prompts the decode benchmarks feed: 16 tokens each, different per sequence.
inline std::vector<std::vector<int64_t>> bench_prompts(const HybridModel& model, int batch, int length = 16) {
  std::vector<std::vector<int64_t>> prompts;
  for (int i = 0; i < batch; ++i) {
    std::vector<int64_t> prompt;
    for (int t = 0; t < length; ++t) prompt.push_back((i * 131 + t * 17) % model.vocab);
    prompts.push_back(prompt);
  }
  return prompts;
}

// Seconds per decode step of `batch` sequences (prompts of `prompt_len` tokens) on the model's device,
// while every sequence decodes: continuous batching prefills long prompts a few per step beside the
// decodes of those already in, so the window runs from the first token of the sequence that joined
// last to the last token of the one that ends first, `steps` steps of that sequence (the run is made
// long enough), after a warm-up run. `graphs`: GenerationOptions::cuda_graphs.
inline double decode_step_seconds(const HybridModel& model, int batch, int steps, const StateSet* adapter,
                                  const SamplingOptions& sampling = {}, int prompt_len = 16, bool graphs = true,
                                  CacheDtypes cache_dtypes = {}) {
  std::vector<GenerationRequest> reqs;
  const std::vector<std::vector<int64_t>> prompts = bench_prompts(model, batch, prompt_len);
  for (int i = 0; i < batch; ++i) reqs.push_back({prompts[static_cast<size_t>(i)], adapter, static_cast<uint64_t>(i)});
  GenerationOptions o;
  o.sampling = sampling;
  o.batch = batch;
  o.max_new_tokens = 2;
  o.cuda_graphs = graphs;
  o.cache_dtypes = cache_dtypes;
  generate(model, reqs, o);
  // Steps that carry prompt chunks: whole chunks of the prompts, at most
  // SchedulerOptions::step_prompt_tokens of them a step (one chunk at least).
  const SchedulerOptions scheduling;
  const int64_t chunk = std::min<int64_t>(prompt_len, scheduling.prefill_chunk);
  const int64_t chunks_per_step = std::max<int64_t>(1, scheduling.step_prompt_tokens / chunk);
  const int64_t chunks = batch * ((prompt_len + scheduling.prefill_chunk - 1) / scheduling.prefill_chunk);
  o.max_new_tokens = steps + 3 + (chunks + chunks_per_step - 1) / chunks_per_step;
  using Clock = std::chrono::steady_clock;
  std::vector<std::vector<Clock::time_point>> seen(static_cast<size_t>(batch));
  generate(model, reqs, o, [&](size_t index, int64_t) {
    seen[index].push_back(Clock::now());
    return false;
  });
  size_t last_in = 0;
  Clock::time_point first_out = seen[0].back();
  for (size_t i = 0; i < seen.size(); ++i) {
    if (seen[i].front() > seen[last_in].front()) last_in = i;
    first_out = std::min(first_out, seen[i].back());
  }
  const std::vector<Clock::time_point>& t = seen[last_in];
  const size_t end = static_cast<size_t>(std::upper_bound(t.begin(), t.end(), first_out) - t.begin()) - 1;
  if (end < static_cast<size_t>(steps)) throw std::runtime_error("decode_step_seconds: the batch decoded together for too few steps");
  return std::chrono::duration<double>(t[end] - t[end - static_cast<size_t>(steps)]).count() / steps;
}

// The GEMM rate of a projection-shaped linear layer, x[m, k] W[n, k]^T as one sequence (one
// OpenBLAS sgemm on both cores), GFLOP/s.
inline double measured_gemm_gflops(int64_t m, int64_t n, int64_t k) {
  const Tensor x = Tensor::from({m, k}, std::vector<float>(static_cast<size_t>(m * k), 0.5f));
  const Tensor w = Tensor::from({n, k}, std::vector<float>(static_cast<size_t>(n * k), 0.25f));
  const ops::Linear l{w, Tensor(), false, k, n};
  const ops::Varlen one_sequence{{0, m}};
  Tensor y = Tensor::zeros({m, n});
  ops::linear_forward(l, x, one_sequence, y);
  const double s = best_of(5, [&] { ops::linear_forward(l, x, one_sequence, y); });
  return 2.0 * m * n * k / s / 1e9;
}

// Multiply-adds x 2 of one forward over T tokens of a sequence, with logits for `logit_rows`:
// every projection (of an MoE block: the router and top_k experts per token), the causal attention
// products, the recurrences' chunked work
// (GatedDeltaNet per token and head about 4 dk dv + chunk terms; counted as 6 dk dv).
inline double forward_flops(const HybridModel& m, int64_t T, int64_t logit_rows) {
  double macs = 0;
  for (const Block& b : m.blocks) {
    macs += static_cast<double>(T) * (b.gate_up.in * b.gate_up.out + b.down.in * b.down.out);
    if (b.moe) {
      const Expert& e = b.moe->experts.at(0);
      double expert = static_cast<double>(e.down.in) * e.down.out;
      for (const Linear& l : e.gate_up) expert += static_cast<double>(l.in) * l.out;
      macs += static_cast<double>(T) * (b.moe->router.in * b.moe->router.out + b.moe->top_k * expert);
    }
    for (const Mixer& mx : b.mixers) {
      if (auto* a = std::get_if<AttentionMixer>(&mx)) {
        macs += static_cast<double>(T) * (a->in_proj.in * a->in_proj.out + a->out_proj.in * a->out_proj.out);
        macs += 2.0 * a->n_heads * a->head_dim * static_cast<double>(T) * T / 2.0;  // QK^T and PV, causal half
      } else if (auto* g = std::get_if<GatedDeltaMixer>(&mx)) {
        macs += static_cast<double>(T) * (g->in_proj.in * g->in_proj.out + g->out_proj.in * g->out_proj.out);
        macs += 3.0 * T * g->n_v_heads * g->k_dim * g->v_dim;
      } else if (auto* s = std::get_if<Mamba2Mixer>(&mx)) {
        macs += static_cast<double>(T) * (s->in_proj.in * s->in_proj.out + s->out_proj.in * s->out_proj.out);
        macs += 3.0 * T * s->n_heads * s->head_dim * s->d_state;
      }
    }
  }
  macs += static_cast<double>(logit_rows) * m.vocab * m.hidden;
  return 2.0 * macs;
}

inline double peak_rss_gib() {
  struct rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_maxrss) / (1024.0 * 1024.0);
}

}  // namespace s0::bench
