#include "ops/cuda/cross_entropy.h"

#include <cuda_bf16.h>

#include "core/allocator.h"

#include "ops/cuda/check.h"
#include "ops/cuda/device_args.h"
#include "ops/cuda/tensor_args.h"
#include "ops/cuda/store.cuh"
#include "ops/cuda/stream.h"

namespace s0::ops::cuda {

namespace {

constexpr int kThreads = 1024;  // a row of a block: 256 left a call of 202 vocabulary rows at 1.4 TB/s (H200, ncu)

// The block's values combined by a fixed tree (the same order every run); every thread gets the result.
template <typename T, typename Op>
__device__ T block_reduce(T value, T* scratch, Op op) {
  scratch[threadIdx.x] = value;
  __syncthreads();
  for (int stride = kThreads / 2; stride > 0; stride /= 2) {
    if (threadIdx.x < stride) scratch[threadIdx.x] = op(scratch[threadIdx.x], scratch[threadIdx.x + stride]);
    __syncthreads();
  }
  const T result = scratch[0];
  __syncthreads();  // scratch is reused by the next reduction
  return result;
}

struct Max {
  __device__ float operator()(float a, float b) const { return fmaxf(a, b); }
};
struct Sum {
  __device__ double operator()(double a, double b) const { return a + b; }
};

// Calls f(j, x) for each of the row's entries a thread owns: consecutive groups of four with
// 16-byte loads where the rows allow it (V a multiple of 4), else one by one.
template <typename F>
__device__ void for_each_owned(const float* row, int64_t V, F f) {
  if (V % 4 == 0) {
    const float4* quads = reinterpret_cast<const float4*>(row);
    for (int64_t q = threadIdx.x; q < V / 4; q += kThreads) {
      const float4 v = quads[q];
      f(4 * q, v.x);
      f(4 * q + 1, v.y);
      f(4 * q + 2, v.z);
      f(4 * q + 3, v.w);
    }
  } else {
    for (int64_t j = threadIdx.x; j < V; j += kThreads) f(j, row[j]);
  }
}

// Row r: loss = max + log(sum exp(x - max)) - x[target], the sum in double, as on the CPU, so a
// large vocabulary adds up without drift. One read of the row finds both: each thread keeps a
// running max and its sum of exp(x - running max), rescaled when the max grows; the block then
// takes the overall max and adds the threads' sums rescaled to it (the terms differ from the CPU's
// by float rounding, far inside the 1e-6 the tests hold the loss to). With a gradient (grad not
// null), a second read writes weight (softmax - onehot(target)) into grad's row: float32 (grad may
// be the logits themselves), or bf16 rounded to nearest even, as the LM head's backward GEMM would
// round it. losses[r]: the loss times the weight.
template <typename T>
__global__ void __launch_bounds__(kThreads)
    cross_entropy_kernel(const float* logits, int64_t V, const int64_t* targets, const float* weights, T* grad,
                         double* losses) {
  __shared__ float max_scratch[kThreads];
  __shared__ double sum_scratch[kThreads];
  const int64_t r = blockIdx.x;
  const float* row = logits + r * V;
  const float picked = row[targets[r]];
  float running_max = -INFINITY;
  double running_sum = 0.0;
  for_each_owned(row, V, [&](int64_t, float x) {
    if (x == -INFINITY) return;  // exp(-inf - max) = 0, as on the CPU (and no -inf - -inf here)
    if (x > running_max) {
      running_sum *= exp(static_cast<double>(running_max) - x);  // exp(-inf) = 0 at the first entry
      running_max = x;
    }
    running_sum += expf(x - running_max);
  });
  const float mx = block_reduce(running_max, max_scratch, Max());
  const double sum = block_reduce(running_sum > 0.0 ? running_sum * exp(static_cast<double>(running_max) - mx) : 0.0,
                                  sum_scratch, Sum());
  const double weight = weights ? weights[r] : 1.0;
  if (threadIdx.x == 0) losses[r] = weight * (static_cast<double>(mx) + log(sum) - static_cast<double>(picked));
  if (!grad) return;
  const float scale = static_cast<float>(weight / sum);
  const int64_t target = targets[r];
  auto gradient = [&](int64_t j, float x) {
    const float d = expf(x - mx) * scale;
    return j == target ? d - static_cast<float>(weight) : d;
  };
  T* out = grad + r * V;
  if (V % 4 == 0) {
    const float4* quads = reinterpret_cast<const float4*>(row);
    for (int64_t q = threadIdx.x; q < V / 4; q += kThreads) {
      const float4 v = quads[q];
      store4(out + 4 * q, make_float4(gradient(4 * q, v.x), gradient(4 * q + 1, v.y), gradient(4 * q + 2, v.z),
                                      gradient(4 * q + 3, v.w)));
    }
  } else {
    for (int64_t j = threadIdx.x; j < V; j += kThreads) store(out + j, gradient(j, row[j]));
  }
}

// out[0] = rows[0] + rows[1] + ... in row order (one thread: the parts are at most a few hundred
// rows), the CPU's order.
__global__ void sum_in_order_kernel(const double* rows, int64_t n, double* out) {
  double total = 0;
  for (int64_t i = 0; i < n; ++i) total += rows[i];
  *out = total;
}

// Rows [0, rows) of logits: each row's (weighted) loss, on the GPU; with grad, the gradient there.
template <typename T>
Tensor row_losses(const float* logits, int64_t rows, int64_t V, const int32_t* targets, const float* weights, T* grad,
                  Device d) {
  std::vector<int64_t> t(static_cast<size_t>(rows));
  for (int64_t r = 0; r < rows; ++r) {
    if (targets[r] < 0 || targets[r] >= V)
      fail("cross entropy: target token ", targets[r], " at row ", r, " outside the vocabulary of ", V);
    t[static_cast<size_t>(r)] = targets[r];
  }
  Tensor out = Tensor::empty({rows}, DType::F64, d);
  if (rows == 0) return out;
  const Tensor targets_on_gpu = upload_i64(t, d);
  Tensor weights_on_gpu;
  if (weights) weights_on_gpu = Tensor::from({rows}, std::vector<float>(weights, weights + rows)).to(d);
  cross_entropy_kernel<T><<<static_cast<unsigned>(rows), kThreads, 0, stream()>>>(
      logits, V, static_cast<const int64_t*>(targets_on_gpu.device_raw()), weights ? f32(weights_on_gpu) : nullptr,
      grad, static_cast<double*>(out.device_raw_mut()));
  check_launch("cross_entropy_kernel");
  return out;
}

}  // namespace

std::vector<float> cross_entropy_forward(const Tensor& logits, const int32_t* targets) {
  const Tensor losses = row_losses(f32(logits), logits.dim(0), logits.dim(1), targets, nullptr,
                                   static_cast<float*>(nullptr), logits.device());
  const Tensor host = losses.to(Device::cpu());  // waits: the host reads them
  return std::vector<float>(host.as<double>(), host.as<double>() + host.numel());
}

void cross_entropy_forward_backward(const Tensor& logits, int64_t begin, int64_t end, const int32_t* targets,
                                    const float* weights, Tensor& sums, int64_t slot, Tensor& grad) {
  const int64_t V = logits.dim(1);
  Tensor losses;
  with_output(output(grad), [&](auto* g) {
    losses = row_losses(f32(logits) + begin * V, end - begin, V, targets, weights, g + begin * V, logits.device());
  });
  sum_in_order_kernel<<<1, 1, 0, stream()>>>(static_cast<const double*>(losses.device_raw()), losses.numel(),
                                             static_cast<double*>(sums.device_raw_mut()) + slot);
  check_launch("sum_in_order_kernel");
}

}  // namespace s0::ops::cuda
