// The CUDA Linear (cuBLASLt, float32 with TF32 off) on the MLP's up projection of the Qwen3.5-4B
// shape: [rows x 2560] x [2560 x 9216], forward (y = x W^T) and backward (dx = dy W), in GFLOP/s.
// Random inputs; ten warm-up products, then the median of `reps` timed ones (each synchronised).
//   build/bench/cuda_linear_bench [rows=4096] [reps=20]
// With `gemv` first: the few-row bf16 GEMV (ops/cuda/bf16_gemv.cuh) of a Qwen3.5-4B decode step,
// each of its kernels (the reference, the persistent ones with 2, 3 and 4 steps in flight) in turn:
// the step's 129 products back to back (24 GatedDeltaNet layers: in_proj 2560 -> 12352, out 4096 ->
// 2560; 8 attention layers: qkv 2560 -> 10240, o 4096 -> 2560; each layer's MLP: gate_up 2560 ->
// 2 x 9216 with SwiGLU paired, down 9216 -> 2560; the LM head 2560 -> 248320), 8.41 GB of distinct
// weights (no product finds its W in L2), then each shape alone over its layers' weights; times,
// TB/s of W, and whether the step's outputs are the reference's bits.
//   build/bench/cuda_linear_bench gemv [rows=1] [reps=20]
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "gpu_timing.h"
#include "ops/device_runtime.h"
#include "ops/linear.h"
#if S0_HAVE_CUDA
#include <cuda_runtime.h>

#include "ops/cuda/bf16_gemv.cuh"
#include "ops/cuda/check.h"
#include "ops/cuda/linear.h"
#include "ops/cuda/stream.h"
#endif

using namespace s0;
using bench::median_seconds;
using bench::random_on_gpu;

namespace {

#if S0_HAVE_CUDA
struct Gemv {
  const char* name;
  int64_t in, out, units;  // units > 0: gate_up with SwiGLU paired (out = 2 units)
  int64_t offset = 0;      // of its W in the weights, in elements
};

int gemv_bench(int64_t rows, int reps) {
  using ops::cuda::GemvKernel;
  std::vector<Gemv> step;
  for (int layer = 0; layer < 32; ++layer) {
    if (layer % 4 == 3) {
      step.push_back({"qkv", 2560, 10240, 0});
      step.push_back({"o", 4096, 2560, 0});
    } else {
      step.push_back({"in_proj", 2560, 12352, 0});
      step.push_back({"out", 4096, 2560, 0});
    }
    step.push_back({"gate_up", 2560, 18432, 9216});
    step.push_back({"down", 9216, 2560, 0});
  }
  step.push_back({"lm_head", 2560, 248320, 0});
  int64_t total = 0, widest = 0;
  for (Gemv& g : step) {
    g.offset = total;
    total += (g.in * g.out + 255) / 256 * 256;  // 512-byte aligned
    widest = std::max(widest, g.in * g.out);
  }
  std::printf("gemv bench: %zu products, %.2f GB of bf16 weights, %lld rows\n", step.size(), 2.0 * total / 1e9,
              static_cast<long long>(rows));
  // Random weights: one random block copied over the whole buffer (never zeros).
  std::vector<float> values(static_cast<size_t>(widest));
  std::mt19937 gen(7);
  std::normal_distribution<float> dist(0.0f, 0.02f);
  for (float& v : values) v = dist(gen);
  const Tensor block = Tensor::from({widest}, values).to_bf16().to(Device::cuda(0));
  Tensor weights = Tensor::empty({total}, DType::BF16, Device::cuda(0));
  auto* base = static_cast<char*>(weights.device_raw_mut());
  for (int64_t at = 0; at < total; at += widest) {
    const int64_t n = std::min(widest, total - at);
    S0_CUDA_CHECK(cudaMemcpyAsync(base + 2 * at, block.device_raw(), 2 * n, cudaMemcpyDeviceToDevice,
                                  ops::cuda::stream()));
  }
  const Tensor x = random_on_gpu({rows, 9216}, 2, 1.0f);
  Tensor y = Tensor::empty({rows, 248320}, DType::F32, Device::cuda(0));
  Tensor h = Tensor::empty({rows, 9216}, DType::F32, Device::cuda(0));
  ops::synchronize(Device::cuda(0));
  const auto* xp = static_cast<const float*>(x.device_raw());
  auto* yp = static_cast<float*>(y.device_raw_mut());
  auto* hp = static_cast<float*>(h.device_raw_mut());
  auto run = [&](GemvKernel k, const Gemv& g) {
    ops::cuda::bf16_gemv_with(k, xp, rows, base + 2 * g.offset, nullptr, g.in, g.out, yp, false, g.units,
                              g.units > 0 ? hp : nullptr);
  };
  const std::pair<GemvKernel, const char*> kernels[] = {{GemvKernel::reference, "reference"},
                                                        {GemvKernel::stream2, "stream2"},
                                                        {GemvKernel::stream3, "stream3"}};
  const char* shapes[] = {"in_proj", "out", "qkv", "o", "gate_up", "down", "lm_head"};
  std::vector<float> ref_y, got_y;
  std::printf("%-10s %9s %8s", "kernel", "step ms", "TB/s");
  for (const char* s : shapes) std::printf(" %13s", s);
  std::printf("  bits\n");
  for (int round = 0; round < 2; ++round)  // each kernel twice, alternating: the spread is the noise
    for (const auto& [kernel, name] : kernels) {
      const double t = median_seconds(reps, [&] {
        for (const Gemv& g : step) run(kernel, g);
      }, 3);
      std::printf("%-10s %9.3f %8.3f", name, t * 1e3, 2.0 * total / t / 1e12);
      for (const char* s : shapes) {  // us a product, TB/s
        int64_t bytes = 0, count = 0;
        for (const Gemv& g : step)
          if (g.name == std::string(s)) bytes += 2 * g.in * g.out, ++count;
        const double ts = median_seconds(reps, [&] {
          for (const Gemv& g : step)
            if (g.name == std::string(s)) run(kernel, g);
        }, 3);
        std::printf(" %6.1f us %4.2f", ts / count * 1e6, bytes / ts / 1e12);
      }
      // The bits: the last product of the step (the LM head) and the last pairing's h.
      for (const Gemv& g : step) run(kernel, g);
      const Tensor yh = y.to(Device::cpu()), hh = h.to(Device::cpu());
      got_y.assign(yh.f32(), yh.f32() + yh.numel());
      got_y.insert(got_y.end(), hh.f32(), hh.f32() + hh.numel());
      if (kernel == GemvKernel::reference) ref_y = got_y;
      const bool same = ref_y.size() == got_y.size() &&
                        std::memcmp(ref_y.data(), got_y.data(), ref_y.size() * sizeof(float)) == 0;
      std::printf("  %s\n", same ? "same" : "DIFFER");
    }
  std::printf("(per shape: microseconds a product and TB/s of its W, the shape's products back to back)\n");
  return 0;
}
#endif

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1 && std::string(argv[1]) == "gemv") {
    if (ops::cuda_device_count() == 0) {
      std::printf("no GPU (or a build without CUDA): nothing to measure\n");
      return 0;
    }
    ops::activate_device(Device::cuda(0));
#if S0_HAVE_CUDA
    return gemv_bench(argc > 2 ? std::atoll(argv[2]) : 1, argc > 3 ? std::atoi(argv[3]) : 20);
#endif
  }
  const int64_t rows = argc > 1 ? std::atoll(argv[1]) : 4096;
  const int reps = argc > 2 ? std::atoi(argv[2]) : 20;
  const int64_t in = 2560, out = 9216;
  if (ops::cuda_device_count() == 0) {
    std::printf("no GPU (or a build without CUDA): nothing to measure\n");
    return 0;
  }
  ops::activate_device(Device::cuda(0));
  const ops::Linear l{random_on_gpu({out, in}, 1, 0.02f), Tensor(), false, in, out};
  const ops::Varlen all{{0, rows}};
  const Tensor x = random_on_gpu({rows, in}, 2, 1.0f), dy = random_on_gpu({rows, out}, 3, 1.0f);
  Tensor y = Tensor::empty({rows, out}, DType::F32, Device::cuda(0));
  Tensor dx = Tensor::empty({rows, in}, DType::F32, Device::cuda(0));
  const double flops = 2.0 * double(rows) * double(in) * double(out);
  const double fwd = median_seconds(reps, [&] { ops::linear_forward(l, x, all, y); });
  const double bwd = median_seconds(reps, [&] { ops::linear_backward(l, dy, all, dx); });
  std::printf("cuda linear f32 (TF32 off) [%lld x %lld] x [%lld x %lld]: forward %.3f ms = %.1f GFLOP/s, "
              "backward %.3f ms = %.1f GFLOP/s\n",
              static_cast<long long>(rows), static_cast<long long>(in), static_cast<long long>(in),
              static_cast<long long>(out), fwd * 1e3, flops / fwd / 1e9, bwd * 1e3, flops / bwd / 1e9);
  return 0;
}
