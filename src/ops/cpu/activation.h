#pragma once
// Pointwise activations and the SwiGLU product, with their derivatives next to them.
#include <cmath>
#include <cstdint>

namespace s0::ops::cpu {

inline float sigmoid(float x) { return 1.0f / (1.0f + std::exp(-x)); }
inline float silu(float x) { return x * sigmoid(x); }
// silu(x) and its derivative s (1 + x (1 - s)), s = sigmoid(x), from one exp: backwards need both
// (each from its own exp, they took twice the time).
struct SiluWithGrad {
  float value, grad;
};
inline SiluWithGrad silu_with_grad(float x) {
  const float s = sigmoid(x);
  return {x * s, s * (1.0f + x * (1.0f - s))};
}
inline float silu_grad(float x) { return silu_with_grad(x).grad; }
// softplus as PyTorch computes it (threshold 20: linear above).
inline float softplus(float x) { return x > 20.0f ? x : std::log1p(std::exp(x)); }
inline float softplus_grad(float x) { return x > 20.0f ? 1.0f : sigmoid(x); }

// h[n, I] = silu(gate) * up, reading gate and up from gu[n, 2I] laid out [gate | up] per row.
void swiglu_forward(const float* gu, int64_t n, int64_t inter, float* h);
// dgu[n, 2I] from dh[n, I] (gate and up recomputed from gu).
void swiglu_backward(const float* gu, const float* dh, int64_t n, int64_t inter, float* dgu);

// h[count] = relu(u)^2, the activation of Nemotron-H's non-gated MLP.
void relu2_forward(const float* u, int64_t count, float* h);
// du[count] from dh[count].
void relu2_backward(const float* u, const float* dh, int64_t count, float* du);

}  // namespace s0::ops::cpu
