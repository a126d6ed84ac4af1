// One S0 training step on a GPU (issue 11's benchmark), for one of two shapes:
//   qwen35-4b: hidden 2560, 32 layers (24 GatedDeltaNet, 3:1 with attention), attention 16 query / 4
//     KV heads of dim 256 with partial rotary 0.25, linear attention 16 key / 32 value heads of dim
//     128, conv 4, MLP 9216, vocab 248320 tied;
//   falcon-h1-7b: 44 layers of Mamba-2 beside attention, hidden 3072, attention 12 / 2 KV heads of
//     dim 128, 24 Mamba-2 heads of dim 128, d_state 256 (model/arch/random_falcon_h1.h).
// Random bf16 weights (written once to the temp folder), on the GPU as bf16 matrices (tensor-core
// GEMMs; `dtype` f32 for the exactness mode). The data is `examples` sequences with lengths uniform
// in [250, 450] and a 0.55 prompt fraction, as the paper's HumanEval setting; each step is the
// trainer's objective and gradient over all of them (forward, loss, activation-only backward,
// recomputation per block so the tape fits), after one warm-up step. The examples are also written
// as training data (JSON lines of ids and prompt_len) for bench/reference/torch_s0_train.py, which
// times the reference loop on the same shape and data.
// Reports seconds per step, tokens/s, model FLOP utilisation against 790 TFLOP/s (bf16 peak; the
// model FLOPs are forward plus activation-only backward, 2x the forward, recomputation not
// counted), and the GPU memory: the peak that tensors held at once, and what the process holds
// (the driver's count, cached free blocks included).
//   build/bench/gpu_train_bench [qwen35-4b|falcon-h1-7b] [examples=48] [steps=2] [layers] [batch_tokens=16384]
//                               [dtype=bf16|f32] [examples_out=FILE or -] [tape=recompute|full]
// `tape`: recompute each layer's activations in the backward (the default; least memory), or keep
// the whole tape of each batch (less work, memory grows with batch_tokens).
#include <cstdio>
#include <cstdlib>
#include <random>

#include "bench/model_bench_common.h"
#include "io/atomic_file.h"
#include "io/json.h"
#include "model/arch/random_falcon_h1.h"
#include "model/arch/registry.h"
#include "model/model_on_device.h"
#include "ops/device_runtime.h"
#include "tune/objective.h"

using namespace s0;

int main(int argc, char** argv) {
  const std::string shape = argc > 1 ? argv[1] : "qwen35-4b";
  const int64_t n_examples = argc > 2 ? std::atoll(argv[2]) : 48;
  const int steps = argc > 3 ? std::atoi(argv[3]) : 2;
  const int64_t layers = argc > 4 ? std::atoll(argv[4]) : (shape == "falcon-h1-7b" ? 44 : 32);
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
  if (shape != "qwen35-4b" && shape != "falcon-h1-7b") {
    std::fprintf(stderr, "gpu_train_bench: unknown shape %s (qwen35-4b or falcon-h1-7b)\n", shape.c_str());
    return 1;
  }
  if (ops::cuda_device_count() == 0) {
    std::fprintf(stderr, "gpu_train_bench: no GPU (or a build without CUDA)\n");
    return 1;
  }
  const Device gpu = Device::cuda(0);
  ops::activate_device(gpu);

  const auto dir = std::filesystem::temp_directory_path() / ("s0-bench-" + shape + "-" + std::to_string(layers));
  if (!std::filesystem::exists(dir / "model.safetensors")) {
    std::printf("writing the random %s-shaped checkpoint to %s ...\n", shape.c_str(), dir.c_str());
    std::fflush(stdout);
    if (shape == "qwen35-4b") {
      Qwen35Dims d;
      d.hidden = 2560;
      d.layers = layers;
      d.intermediate = 9216;
      d.linear_k_heads = 16;
      d.linear_v_heads = 32;
      d.heads = 16;
      d.kv_heads = 4;
      write_random_qwen35(dir, d);
    } else {
      FalconH1Dims d;
      d.layers = layers;
      write_random_falcon_h1(dir, d);
    }
  }
  auto t0 = std::chrono::steady_clock::now();
  const HybridModel model = load_model_on(dir, gpu, dtype == "bf16" ? DType::BF16 : DType::F32);
  std::printf("loaded and moved to the GPU (%s matrices) in %.1f s\n", dtype.c_str(), bench::seconds_since(t0));

  std::mt19937_64 rng(1);
  std::uniform_int_distribution<int64_t> length(250, 450), token(0, model.vocab - 1);
  std::vector<Example> examples;
  int64_t tokens = 0;
  for (int64_t e = 0; e < n_examples; ++e) {
    Example ex{std::vector<int64_t>(static_cast<size_t>(length(rng))), 0};
    for (int64_t& id : ex.ids) id = token(rng);
    ex.prompt_len = static_cast<int64_t>(0.55 * static_cast<double>(ex.ids.size()));
    tokens += static_cast<int64_t>(ex.ids.size());
    examples.push_back(std::move(ex));
  }
  if (!examples_out.empty()) {
    std::string lines;
    for (const Example& e : examples) lines += Json{{"ids", e.ids}, {"prompt_len", e.prompt_len}}.dump() + "\n";
    write_file_atomic(examples_out, lines);
    std::printf("examples written to %s\n", examples_out.c_str());
  }
  StateSet states;
  for (const auto& r : model.recurrent) states.states.push_back(Tensor::zeros(r.state_shape));
  ObjectiveOptions opt;
  opt.recompute = tape == "recompute";
  opt.max_batch_tokens = batch_tokens;

  t0 = std::chrono::steady_clock::now();
  objective_and_gradient(model, examples, states, opt);
  ops::synchronize(gpu);
  std::printf("warm-up step %.2f s\n", bench::seconds_since(t0));
  const double step = bench::best_of(steps, [&] {
    objective_and_gradient(model, examples, states, opt);
    ops::synchronize(gpu);
  });
  double flops = 0;
  for (const Example& e : examples) flops += 2.0 * bench::forward_flops(model, static_cast<int64_t>(e.ids.size()),
                                         static_cast<int64_t>(e.ids.size()) - e.prompt_len);
  std::printf("%s (%s matrices, %s tape, batches of <= %lld tokens), %lld examples, %lld tokens per step: %.2f s per step, %.0f tokens/s, %.1f TFLOP/s = %.1f%% of 790 "
              "TFLOP/s, GPU memory: peak in use %.1f GiB, held %.1f GiB\n",
              shape.c_str(), dtype.c_str(), tape.c_str(), static_cast<long long>(batch_tokens), static_cast<long long>(n_examples), static_cast<long long>(tokens), step, tokens / step,
              flops / step / 1e12, 100.0 * flops / step / 790e12,
              static_cast<double>(ops::device_memory_peak(gpu)) / (1ull << 30),
              static_cast<double>(ops::device_memory_used(gpu)) / (1ull << 30));
  return 0;
}
