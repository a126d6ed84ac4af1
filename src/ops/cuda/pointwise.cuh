#pragma once
// The pointwise functions of ops/cpu/activation.h on the device, written as the CPU writes them
// (accurate expf / log1pf, no fast-math intrinsics) so that both agree to a few ulp.
namespace s0::ops::cuda {

__device__ inline float sigmoid(float x) { return 1.0f / (1.0f + expf(-x)); }
__device__ inline float silu(float x) { return x * sigmoid(x); }
// d silu / dx = s (1 + x (1 - s)), s = sigmoid(x)
__device__ inline float silu_grad(float x) {
  const float s = sigmoid(x);
  return s * (1.0f + x * (1.0f - s));
}
// softplus as PyTorch computes it (threshold 20: linear above).
__device__ inline float softplus(float x) { return x > 20.0f ? x : log1pf(expf(x)); }
__device__ inline float softplus_grad(float x) { return x > 20.0f ? 1.0f : sigmoid(x); }

}  // namespace s0::ops::cuda
