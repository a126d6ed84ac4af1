#include "ops/cuda/cross_entropy.h"

#include "core/allocator.h"

#include "ops/cuda/check.h"
#include "ops/cuda/device_args.h"
#include "ops/cuda/tensor_args.h"
#include "ops/cuda/stream.h"

namespace s0::ops::cuda {

namespace {

constexpr int kThreads = 256;

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

// Row r: loss = max + log(sum exp(x - max)) - x[target] (the sum in double, as on the CPU, so a
// large vocabulary adds up without drift). With `grad`, the row is overwritten by
// weight (softmax - onehot(target)) and the loss scaled by the weight.
__global__ void cross_entropy_kernel(float* logits, int64_t V, const int64_t* targets, const float* weights,
                                     bool grad, double* losses) {
  __shared__ float max_scratch[kThreads];
  __shared__ double sum_scratch[kThreads];
  const int64_t r = blockIdx.x;
  float* row = logits + r * V;
  const float picked = row[targets[r]];
  float mx = -INFINITY;
  for (int64_t j = threadIdx.x; j < V; j += kThreads) mx = fmaxf(mx, row[j]);
  mx = block_reduce(mx, max_scratch, Max());
  double sum = 0.0;
  for (int64_t j = threadIdx.x; j < V; j += kThreads) sum += expf(row[j] - mx);
  sum = block_reduce(sum, sum_scratch, Sum());
  const double weight = weights ? weights[r] : 1.0;
  if (threadIdx.x == 0) losses[r] = weight * (static_cast<double>(mx) + log(sum) - static_cast<double>(picked));
  if (!grad) return;
  const float scale = static_cast<float>(weight / sum);
  for (int64_t j = threadIdx.x; j < V; j += kThreads) {
    const float d = expf(row[j] - mx) * scale;
    row[j] = j == targets[r] ? d - static_cast<float>(weight) : d;
  }
}

std::vector<double> row_losses(float* logits, int64_t rows, int64_t V, const int32_t* targets, const float* weights,
                               bool grad, Device d) {
  std::vector<int64_t> t(static_cast<size_t>(rows));
  for (int64_t r = 0; r < rows; ++r) {
    if (targets[r] < 0 || targets[r] >= V)
      fail("cross entropy: target token ", targets[r], " at row ", r, " outside the vocabulary of ", V);
    t[static_cast<size_t>(r)] = targets[r];
  }
  std::vector<double> losses(static_cast<size_t>(rows));
  if (rows == 0) return losses;
  const Tensor targets_on_gpu = upload_i64(t, d);
  Tensor weights_on_gpu;
  if (weights) weights_on_gpu = Tensor::from({rows}, std::vector<float>(weights, weights + rows)).to(d);
  Tensor out = Tensor::empty({rows}, DType::F64, d);
  cross_entropy_kernel<<<static_cast<unsigned>(rows), kThreads, 0, stream()>>>(
      logits, V, static_cast<const int64_t*>(targets_on_gpu.device_raw()),
      weights ? f32(weights_on_gpu) : nullptr, grad, static_cast<double*>(out.device_raw_mut()));
  check_launch("cross_entropy_kernel");
  copy_bytes(losses.data(), Device::cpu(), out.device_raw(), d, out.nbytes());  // waits: the host reads them
  return losses;
}

}  // namespace

std::vector<float> cross_entropy_forward(const Tensor& logits, const int32_t* targets) {
  // The kernel only reads the logits when no gradient is asked for.
  float* p = const_cast<float*>(f32(logits));
  const std::vector<double> losses = row_losses(p, logits.dim(0), logits.dim(1), targets, nullptr, false, logits.device());
  return std::vector<float>(losses.begin(), losses.end());
}

double cross_entropy_forward_backward(Tensor& logits, int64_t begin, int64_t end, const int32_t* targets,
                                      const float* weights) {
  const int64_t V = logits.dim(1);
  const std::vector<double> losses = row_losses(f32_mut(logits) + begin * V,
                                                end - begin, V, targets, weights, true, logits.device());
  double total = 0;  // in row order, as on the CPU
  for (double l : losses) total += l;
  return total;
}

}  // namespace s0::ops::cuda
