// The CUDA Linear (cuBLASLt, float32 with TF32 off) on the MLP's up projection of the Qwen3.5-4B
// shape: [rows x 2560] x [2560 x 9216], forward (y = x W^T) and backward (dx = dy W), in GFLOP/s.
// Random inputs; ten warm-up products, then the median of `reps` timed ones (each synchronised).
//   build/bench/cuda_linear_bench [rows=4096] [reps=20]
#include <cstdio>
#include <cstdlib>

#include "gpu_timing.h"
#include "ops/device_runtime.h"
#include "ops/linear.h"

using namespace s0;
using bench::median_seconds;
using bench::random_on_gpu;

int main(int argc, char** argv) {
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
