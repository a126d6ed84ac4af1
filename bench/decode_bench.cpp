// Decode speed with and without an S0 adapter, on a random model of Qwen3.5-0.8B's shape (CPU, the
// default) or Qwen3.5-4B's (`--shape 4b`, the GPU's benchmark), next to the memory-bandwidth floor
// of a decode step (the weight bytes a step reads over the memory's bandwidth: on the CPU the
// machine's measured streaming read; on a GPU the card's nominal 3.35 TB/s for an H100 and 4.8 TB/s
// for an H200, both printed; name the card). An adapter only changes the state the recurrent layers
// start from at prefill, so the two rows should agree within noise. On a GPU the weight matrices
// are bf16, and more columns time the model's forward alone over the same decode step (no token
// picking, no scheduler): per step from an idle GPU, the host's time to queue it, and the time in
// attention and in recurrent blocks (each with its MLP), the GPU synchronised around every block.
//
//   build/bench/decode_bench [--device cpu|cuda[:N]] [--shape 0.8b|4b] [--steps 8] [--batches 1,16]
//                            [--model DIR] [--profile 1] [--temperature 0] [--top-p 1]
//                            [--dtype f32|bf16] [--prompt 16] [--graphs on|off] [--state-dtype f32|bf16]
//                            [--kv-dtype f32|bf16]
// `--prompt`: the prompt length of every sequence; decode steps then attend over that many keys
// and more (a HumanEval generation runs at a few hundred). `--graphs off`: decode steps without
// CUDA graphs of their recurrent blocks (model/decode_graphs.h), every kernel queued by the host.
// Without --model the random checkpoint of the shape shared by the model benchmarks is used
// (written once to the temp folder).
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <unistd.h>
#include <filesystem>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "bench/decode_floor.h"
#include "bench/model_bench_common.h"
#include "core/error.h"
#include "generate/generator.h"
#include "model/arch/registry.h"
#include "model/model_on_device.h"
#include "model/decode_graphs.h"
#include "model/forward.h"
#include "ops/device_runtime.h"
#include "ops/rows.h"
#if S0_HAVE_CUDA
#include <cuda_profiler_api.h>
#endif

namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

struct ForwardTiming {
  double step_s = 0;   // per step, from an idle GPU to the step's end
  double issue_s = 0;  // per step, the host's time to queue it (near step_s: the host is the bound)
  double attention_s = 0, recurrent_s = 0;  // the blocks of each kind (mixer and MLP), one step
};

// One decode step of `batch` sequences (one token each, after a prefill of `prompt_len` tokens), the
// model alone: no sampling, no scheduler. Each step starts on an idle GPU; one more runs block by block,
// synchronised around each, to split the time between attention and recurrent blocks. With
// `profile`, one more step runs between cudaProfilerStart and Stop (for `ncu --profile-from-start
// off`: the kernels of exactly one decode step).
ForwardTiming forward_step_seconds(const s0::HybridModel& model, int batch, int steps, bool profile, int prompt_len,
                                   bool graphs, s0::CacheDtypes cache_dtypes) {
  std::vector<size_t> mixers;
  for (const s0::Block& b : model.blocks) mixers.push_back(b.mixers.size());
  std::vector<s0::SequenceCache> caches(static_cast<size_t>(batch), s0::SequenceCache(mixers, cache_dtypes));
  std::vector<s0::SequenceCache*> cache_ptrs;
  for (s0::SequenceCache& c : caches) cache_ptrs.push_back(&c);
  s0::DecodeGraphs decode_graphs;
  auto run = [&](const std::vector<std::vector<int64_t>>& inputs) {
    const s0::PackedBatch packed = s0::PackedBatch::from_sequences(inputs, {}, cache_ptrs);
    s0::ForwardOptions fo;
    if (graphs) fo.graphs = &decode_graphs;
    for (int i = 0; i < batch; ++i) fo.logit_rows.push_back(packed.begin(i) + packed.length(i) - 1);
    s0::forward(model, packed, fo);
    for (size_t i = 0; i < caches.size(); ++i) caches[i].length += static_cast<int64_t>(inputs[i].size());
  };
  run(s0::bench::bench_prompts(model, batch, prompt_len));
  const std::vector<std::vector<int64_t>> step(static_cast<size_t>(batch), std::vector<int64_t>{1});
  run(step);  // warm-up (twice: graphs are recorded the second step of a batch)
  run(step);
  ForwardTiming f;
  for (int s = 0; s < steps; ++s) {
    s0::ops::synchronize(model.device());
    const auto t = Clock::now();
    run(step);
    f.issue_s += seconds_since(t) / steps;
    s0::ops::synchronize(model.device());
    f.step_s += seconds_since(t) / steps;
  }
  const s0::PackedBatch packed = s0::PackedBatch::from_sequences(step, {}, cache_ptrs);
  s0::Tensor x = s0::ops::gather_rows(model.embed, packed.tokens, model.embed_scale);
  for (const s0::Block& blk : model.blocks) {
    s0::BlockSaved saved;
    s0::ops::synchronize(model.device());
    const auto t = Clock::now();
    s0::block_forward(blk, model, packed, x, saved, s0::KeepFor::nothing, nullptr);
    s0::ops::synchronize(model.device());
    const bool attention = !blk.mixers.empty() && std::holds_alternative<s0::AttentionMixer>(blk.mixers[0]);
    (attention ? f.attention_s : f.recurrent_s) += seconds_since(t);
  }
  for (s0::SequenceCache& c : caches) c.length += 1;
#if S0_HAVE_CUDA
  if (profile) {
    s0::ops::synchronize(model.device());
    cudaProfilerStart();
    run(step);
    s0::ops::synchronize(model.device());
    cudaProfilerStop();
  }
#else
  (void)profile;
#endif
  return f;
}

}  // namespace

int main(int argc, char** argv) {
  std::string device_name = "cpu", shape = "0.8b", model_dir, batches_arg, dtype_name;
  int steps = 8, prompt_len = 16;
  bool profile = false, graphs = true;
  s0::CacheDtypes cache_dtypes;
  s0::SamplingOptions sampling;  // greedy unless --temperature
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--device") device_name = value;
    else if (flag == "--shape") shape = value;
    else if (flag == "--steps") steps = std::atoi(value.c_str());
    else if (flag == "--batches") batches_arg = value;
    else if (flag == "--model") model_dir = value;
    else if (flag == "--profile") profile = value == "1";
    else if (flag == "--temperature") sampling.temperature = std::atof(value.c_str());
    else if (flag == "--top-p") sampling.top_p = std::atof(value.c_str());
    else if (flag == "--dtype") dtype_name = value;
    else if (flag == "--prompt") prompt_len = std::atoi(value.c_str());
    else if (flag == "--graphs" && (value == "on" || value == "off")) graphs = value == "on";
    else if ((flag == "--state-dtype" || flag == "--kv-dtype") && (value == "f32" || value == "bf16"))
      (flag == "--state-dtype" ? cache_dtypes.state : cache_dtypes.kv) =
          value == "bf16" ? s0::DType::BF16 : s0::DType::F32;
    else {
      std::fprintf(stderr, "decode_bench: unknown flag %s\n", flag.c_str());
      return 2;
    }
  }
  if (argc % 2 == 0 || (shape != "0.8b" && shape != "4b") || steps < 1 || prompt_len < 1 ||
      (!dtype_name.empty() && dtype_name != "f32" && dtype_name != "bf16")) {
    std::fprintf(stderr, "usage: decode_bench [--device cpu|cuda[:N]] [--shape 0.8b|4b] [--steps N] [--batches 1,16] "
                         "[--model DIR] [--profile 1] [--temperature 0] [--top-p 1] [--dtype f32|bf16] "
                         "[--prompt 16] [--graphs on|off] [--state-dtype f32|bf16] [--kv-dtype f32|bf16]\n");
    return 2;
  }
  try {
    const s0::Device device = s0::parse_device(device_name, "--device");
    s0::ops::activate_device(device);
    std::vector<int> batches;
    for (size_t at = 0; at < batches_arg.size();) {
      const size_t comma = std::min(batches_arg.find(',', at), batches_arg.size());
      batches.push_back(std::atoi(batches_arg.substr(at, comma - at).c_str()));
      at = comma + 1;
    }
    if (batches.empty()) batches = device.is_cpu() ? std::vector<int>{1, 16} : std::vector<int>{1, 8, 64};
    const std::filesystem::path dir = !model_dir.empty() ? std::filesystem::path(model_dir)
                                      : shape == "4b"    ? s0::bench::qwen35_4b_dir()
                                                         : s0::bench::qwen35_08b_dir();
    const auto t0 = Clock::now();
    // Unset: the matrices as stored (bf16 for the benchmark checkpoints), on either device.
    const std::optional<s0::DType> dtype =
        dtype_name.empty() ? std::nullopt : std::optional(dtype_name == "bf16" ? s0::DType::BF16 : s0::DType::F32);
    const s0::HybridModel model = s0::load_model_on(dir, device, dtype);
    std::printf("loaded %s in %.1f s\n", dir.c_str(), seconds_since(t0));

    s0::StateSet adapter;
    std::mt19937 rng(1);
    std::normal_distribution<float> noise(0.0f, 0.05f);
    for (const s0::RecurrentLayer& r : model.recurrent) {
      s0::Tensor t = s0::Tensor::zeros(r.state_shape);
      for (int64_t i = 0; i < t.numel(); ++i) t.f32_mut()[i] = noise(rng);
      adapter.states.push_back(t.to(device));
    }

    const double bytes = s0::bench::weight_bytes_per_step(model);
    std::printf("model: %zu blocks, hidden %lld, vocab %lld; %.2f GB of weights read per decode step (%s matrices)\n",
                model.blocks.size(), static_cast<long long>(model.hidden), static_cast<long long>(model.vocab),
                bytes / 1e9, s0::dtype_name(model.blocks.front().down.w.dtype()));
    const auto floors = s0::bench::decode_floors(device, bytes);
    if (sampling.temperature > 0)
      std::printf("tokens sampled at temperature %g, top-p %g\n", sampling.temperature, sampling.top_p);
    else
      std::printf("tokens picked greedily\n");
    if (!device.is_cpu()) std::printf("CUDA graphs of the recurrent blocks: %s\n", graphs ? "on" : "off");
    auto name = [](s0::DType d) { return d == s0::DType::BF16 ? "bf16" : "f32"; };
    std::printf("recurrent states kept in %s, keys and values in %s\n", name(cache_dtypes.state),
                name(cache_dtypes.kv));
    s0::bench::print_floors(floors);
    // The model-alone split (forward, host queue time, attention and recurrent blocks) is measured
    // on a GPU only, where the host's queueing is the question; the CPU rows leave it out.
    const bool split = !device.is_cpu();
    std::printf("%-6s %-14s %10s %10s %10s", "batch", "initial state", "ms/step", "tokens/s", "x floor");
    if (split) std::printf(" %11s %10s %10s %10s", "forward ms", "queued ms", "attn ms", "recur ms");
    std::printf("\n");
    for (int batch : batches) {
      const ForwardTiming f =
          split ? forward_step_seconds(model, batch, steps, profile, prompt_len, graphs, cache_dtypes)
                : ForwardTiming{};
      for (const s0::StateSet* init : {static_cast<const s0::StateSet*>(nullptr), &std::as_const(adapter)}) {
        const double s =
            s0::bench::decode_step_seconds(model, batch, steps, init, sampling, prompt_len, graphs, cache_dtypes);
        std::printf("%-6d %-14s %10.2f %10.1f %10.2f", batch, init ? "adapter" : "zero (none)", s * 1e3, batch / s,
                    s / floors.front().second);
        if (split)
          std::printf(" %11.2f %10.2f %10.2f %10.2f", f.step_s * 1e3, f.issue_s * 1e3, f.attention_s * 1e3,
                      f.recurrent_s * 1e3);
        std::printf("\n");
        std::fflush(stdout);
      }
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "decode_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
