// One S0 training step on a GPU (issue 11's benchmark), then decode tokens/s at batch 1 and 16, for
// one of three shapes:
//   qwen35-4b: hidden 2560, 32 layers (24 GatedDeltaNet, 3:1 with attention), attention 16 query / 4
//     KV heads of dim 256 with partial rotary 0.25, linear attention 16 key / 32 value heads of dim
//     128, conv 4, MLP 9216, vocab 248320 tied;
//   falcon-h1-7b: 44 layers of Mamba-2 beside attention, hidden 3072, attention 12 / 2 KV heads of
//     dim 128, 24 Mamba-2 heads of dim 128, d_state 256 (model/arch/random_falcon_h1.h);
//   qwen35-35b-a3b: Qwen3.5-35B-A3B's shape (issue 14): hidden 2048, 40 layers (30 GatedDeltaNet,
//     3:1 with attention), attention 16 query / 2 KV heads of dim 256 with partial rotary 0.25,
//     linear attention 16 key / 32 value heads of dim 128, every feed-forward a sparse MoE of 256
//     experts of width 512, top 8 renormalised, plus a gated shared expert of width 512; vocab
//     248320 untied: 35B parameters, 3B active per token. The checkpoint holds 8 experts per layer
//     (all 256 would be 67 GB, more than the GPU machine's 64 GiB disk); after loading, each layer's
//     256 experts are those 8 in turn, each moved to its own GPU memory, under a fresh random
//     [256, 2048] router, so the GPU holds, routes over and reads the full shape.
// Random bf16 weights (written once to the temp folder), on the GPU as bf16 matrices (tensor-core
// GEMMs; `dtype` f32 for the exactness mode). The data is `examples` sequences with lengths uniform
// in [250, 450] and a 0.55 prompt fraction, as the paper's HumanEval setting; each step is the
// trainer's objective and gradient over all of them (forward, loss, activation-only backward,
// recomputation per block so the tape fits), after one warm-up step. The examples are also written
// as training data (JSON lines of ids and prompt_len) for bench/reference/torch_s0_train.py, which
// times the reference loop on the same shape and data.
// Reports seconds per step, tokens/s, model FLOP utilisation against 790 TFLOP/s (bf16 peak; the
// model FLOPs are forward plus activation-only backward, 2x the forward, recomputation not
// counted; an MoE block counts its router and top_k experts), the GPU memory (the peak that tensors
// held at once, and what the process holds: the driver's count, cached free blocks included), and
// the decode speed (16-token prompts, 16 greedy steps, no adapter); and the warm-up step's objective
// with a digest of its S0 gradient's bits, which two builds computing the same thing share.
// Without a GPU it runs on the CPU in float32, as a smoke run for a small layer count.
//   build/bench/gpu_train_bench [qwen35-4b|falcon-h1-7b|qwen35-35b-a3b] [examples=48] [steps=2] [layers]
//                               [batch_tokens=16384] [dtype=bf16|f32] [examples_out=FILE or -]
//                               [tape=recompute|full]
// `tape`: recompute each layer's activations in the backward (the default; least memory), or keep
// the whole tape of each batch (less work, memory grows with batch_tokens).
#include <cstdio>
#include <cstdlib>

#include "bench/model_bench_common.h"
#include "bench/synthetic_examples.h"
#include "core/digest.h"
#include "io/atomic_file.h"
#include "model/arch/random_falcon_h1.h"
#include "model/arch/random_weights.h"
#include "model/arch/registry.h"
#include "model/arch/weight_loader.h"
#include "model/model_on_device.h"
#include "ops/device_runtime.h"
#include "tune/batch_packing.h"
#include "tune/objective.h"

using namespace s0;

namespace {

constexpr int64_t kWrittenExperts = 8;

// Every MoE block gets `experts` routed experts, the written ones in turn (views of the same mapped
// weights on the host; moving the model to a GPU gives each its own copy), and a fresh random router
// of that many rows.
void widen_experts(HybridModel& m, int64_t experts, uint64_t seed) {
  RandomWeights f(DType::F32, seed);
  for (Block& b : m.blocks) {
    if (!b.moe) continue;
    const std::vector<Expert> written = b.moe->experts;
    b.moe->experts.clear();
    for (int64_t e = 0; e < experts; ++e) b.moe->experts.push_back(written[static_cast<size_t>(e) % written.size()]);
    // A wide router spreads the tokens over the experts, as trained routers do (random_qwen35.h).
    const bool precise = b.moe->router.precise;
    b.moe->router = make_linear(f.normal({experts, m.hidden}, 1.0f));
    b.moe->router.precise = precise;
  }
}

// The checkpoint of `shape` with `layers` layers (8 experts per MoE layer; see the header).
void write_checkpoint(const std::string& shape, int64_t layers, const std::filesystem::path& dir) {
  if (shape == "falcon-h1-7b") {
    FalconH1Dims d;
    d.layers = layers;
    return write_random_falcon_h1(dir, d);
  }
  Qwen35Dims d = bench::qwen35_4b_dims(layers);  // the 4B shape; the 35B-A3B's differs where set below
  if (shape == "qwen35-35b-a3b") {
    d.hidden = 2048;
    d.kv_heads = 2;
    d.tied = false;
    d.experts = kWrittenExperts;
    d.experts_per_token = 8;
    d.moe_intermediate = 512;
    d.shared_intermediate = 512;
  }
  write_random_qwen35(dir, d);
}

}  // namespace

int main(int argc, char** argv) {
  const std::string shape = argc > 1 ? argv[1] : "qwen35-4b";
  const int64_t n_examples = argc > 2 ? std::atoll(argv[2]) : 48;
  const int steps = argc > 3 ? std::atoi(argv[3]) : 2;
  const int64_t layers =
      argc > 4 ? std::atoll(argv[4]) : (shape == "falcon-h1-7b" ? 44 : shape == "qwen35-35b-a3b" ? 40 : 32);
  const int64_t batch_tokens = argc > 5 ? std::atoll(argv[5]) : 16384;
  const std::string dtype = argc > 6 ? argv[6] : "bf16";
  const std::string examples_out = argc > 7 && std::string(argv[7]) != "-" ? argv[7] : "";
  const std::string tape = argc > 8 ? argv[8] : "recompute";
  if (dtype != "bf16" && dtype != "f32") {
    std::fprintf(stderr, "gpu_train_bench: unknown dtype %s (bf16 or f32)\n", dtype.c_str());
    return 1;
  }
  if (tape != "recompute" && tape != "full") {
    std::fprintf(stderr, "gpu_train_bench: unknown tape %s (recompute or full)\n", tape.c_str());
    return 1;
  }
  if (shape != "qwen35-4b" && shape != "falcon-h1-7b" && shape != "qwen35-35b-a3b") {
    std::fprintf(stderr, "gpu_train_bench: unknown shape %s (qwen35-4b, falcon-h1-7b or qwen35-35b-a3b)\n",
                 shape.c_str());
    return 1;
  }
  const bool on_gpu = ops::cuda_device_count() > 0;
  const Device device = on_gpu ? Device::cuda(0) : Device::cpu();
  const std::string matrices = on_gpu ? dtype : "f32";
  if (on_gpu) {
    ops::activate_device(device);
  } else {
    std::printf("no GPU (or a build without CUDA): a smoke run on the CPU in float32\n");
  }

  const std::filesystem::path dir =
      bench::cached_random_checkpoint("s0-bench-" + shape + "-" + std::to_string(layers),
                                      [&](const std::filesystem::path& to) { write_checkpoint(shape, layers, to); });
  auto t0 = std::chrono::steady_clock::now();
  HybridModel host = load_model(dir, {.keep_bf16_matrices = on_gpu});
  if (shape == "qwen35-35b-a3b") widen_experts(host, 256, 2);
  const HybridModel model =
      on_gpu ? model_on(host, device, dtype == "bf16" ? DType::BF16 : DType::F32) : std::move(host);
  std::printf("loaded%s (%s matrices) in %.1f s\n", on_gpu ? " and moved to the GPU" : "", matrices.c_str(),
              bench::seconds_since(t0));

  const std::vector<Example> examples = bench::synthetic_examples(n_examples, model.vocab);
  int64_t tokens = 0;
  for (const Example& e : examples) tokens += static_cast<int64_t>(e.ids.size());
  if (!examples_out.empty()) {
    write_file_atomic(examples_out, bench::training_lines(examples));
    std::printf("examples written to %s\n", examples_out.c_str());
  }
  StateSet states;
  for (const auto& r : model.recurrent) states.states.push_back(Tensor::zeros(r.state_shape));
  ObjectiveOptions opt;
  opt.recompute = tape == "recompute";
  opt.max_batch_tokens = batch_tokens;

  t0 = std::chrono::steady_clock::now();
  const ObjectiveResult first = objective_and_gradient(model, examples, states, opt);
  ops::synchronize(device);
  std::printf("warm-up step %.2f s\n", bench::seconds_since(t0));
  // Two builds that compute the same thing print the same line (their A/B runs compare it).
  // Random weights decay most heads' states to nothing within a prompt, so many entries are 0.
  std::string gradient_bytes;
  int64_t entries = 0, nonzero = 0;
  for (const Tensor& g : first.grad) {
    const Tensor host = g.to(Device::cpu());
    gradient_bytes.append(static_cast<const char*>(host.raw()), host.nbytes());
    entries += host.numel();
    for (int64_t i = 0; i < host.numel(); ++i) nonzero += host.f32()[i] != 0.0f;
  }
  std::printf("objective %.9g, S0 gradient digest %s (%lld of %lld entries non-zero)\n", first.objective,
              content_digest(gradient_bytes).c_str(), static_cast<long long>(nonzero), static_cast<long long>(entries));
  const double step = bench::best_of(steps, [&] {
    objective_and_gradient(model, examples, states, opt);
    ops::synchronize(device);
  });
  double flops = 0;
  for (const Example& e : examples) flops += 2.0 * bench::forward_flops(model, static_cast<int64_t>(e.ids.size()),
                                         static_cast<int64_t>(e.ids.size()) - e.prompt_len);
  std::vector<int64_t> lengths;
  for (const Example& e : examples) lengths.push_back(static_cast<int64_t>(e.ids.size()));
  const size_t n_batches = pack_batches(lengths, batch_tokens).size();
  std::printf("%s (%s matrices, %s tape, %zu batches of <= %lld tokens), %lld examples, %lld tokens per step: %.2f s per "
              "step, %.0f tokens/s, %.1f TFLOP/s = %.1f%% of 790 TFLOP/s, GPU memory: peak in use %.1f GiB, held %.1f "
              "GiB\n",
              shape.c_str(), matrices.c_str(), tape.c_str(), n_batches, static_cast<long long>(batch_tokens),
              static_cast<long long>(n_examples), static_cast<long long>(tokens), step, tokens / step,
              flops / step / 1e12, 100.0 * flops / step / 790e12,
              static_cast<double>(ops::device_memory_peak(device)) / (1ull << 30),
              static_cast<double>(ops::device_memory_used(device)) / (1ull << 30));
  for (int batch : {1, 16}) {
    const double s = bench::decode_step_seconds(model, batch, 16, nullptr);
    std::printf("decode, batch %d: %.1f ms per step, %.1f tokens/s\n", batch, s * 1e3, batch / s);
    std::fflush(stdout);
  }
  return 0;
}
