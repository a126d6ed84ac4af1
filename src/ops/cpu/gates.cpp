#include "ops/cpu/gates.h"

#include <algorithm>

#include "ops/cpu/activation.h"

namespace s0::ops::cpu {

namespace {
// Gates per token and head take an exp and a log each: worth both threads from far fewer elements
// than the copies' and norms' 65536.
constexpr int64_t kParallelGates = 4096;
}  // namespace

void gated_delta_gates_forward(const float* b, const float* a, int64_t ld, const float* neg_A, const float* dt_bias,
                               int64_t N, int64_t H, float* beta, float* g) {
#pragma omp parallel for schedule(static) if (N * H > kParallelGates)
  for (int64_t t = 0; t < N; ++t)
    for (int64_t h = 0; h < H; ++h) {
      beta[t * H + h] = sigmoid(b[t * ld + h]);
      g[t * H + h] = neg_A[h] * softplus(a[t * ld + h] + dt_bias[h]);
    }
}

void gated_delta_gates_backward(const float* a, int64_t ld, const float* neg_A, const float* dt_bias,
                                const float* beta, const float* dbeta, const float* dg, int64_t N, int64_t H, float* db,
                                float* da) {
#pragma omp parallel for schedule(static) if (N * H > kParallelGates)
  for (int64_t t = 0; t < N; ++t)
    for (int64_t h = 0; h < H; ++h) {
      const float bt = beta[t * H + h];
      db[t * ld + h] = dbeta[t * H + h] * bt * (1.0f - bt);
      da[t * ld + h] = dg[t * H + h] * neg_A[h] * softplus_grad(a[t * ld + h] + dt_bias[h]);
    }
}

void mamba2_dt_forward(const float* raw, int64_t ld, const float* dt_bias, float dt_min, float dt_max, int64_t N,
                       int64_t H, float* dt) {
#pragma omp parallel for schedule(static) if (N * H > kParallelGates)
  for (int64_t t = 0; t < N; ++t)
    for (int64_t h = 0; h < H; ++h) dt[t * H + h] = std::clamp(softplus(raw[t * ld + h] + dt_bias[h]), dt_min, dt_max);
}

void mamba2_dt_backward(const float* raw, int64_t ld, const float* dt_bias, float dt_min, float dt_max,
                        const float* ddt, int64_t N, int64_t H, float* draw) {
#pragma omp parallel for schedule(static) if (N * H > kParallelGates)
  for (int64_t t = 0; t < N; ++t)
    for (int64_t h = 0; h < H; ++h) {
      const float pre = raw[t * ld + h] + dt_bias[h];
      const float sp = softplus(pre);
      const bool inside = sp >= dt_min && sp <= dt_max;
      draw[t * ld + h] = inside ? ddt[t * H + h] * softplus_grad(pre) : 0.0f;
    }
}

void sigmoid_gate_forward(const float* o, const float* gate, int64_t ld, int64_t N, int64_t d, float* out) {
#pragma omp parallel for schedule(static) if (N * d > 65536)
  for (int64_t i = 0; i < N; ++i)
    for (int64_t j = 0; j < d; ++j) out[i * d + j] = o[i * d + j] * sigmoid(gate[i * ld + j]);
}

void sigmoid_gate_backward(const float* o, const float* gate, int64_t ld, const float* dout, int64_t N, int64_t d,
                           float* dgate, float* d_o) {
#pragma omp parallel for schedule(static) if (N * d > 65536)
  for (int64_t i = 0; i < N; ++i)
    for (int64_t j = 0; j < d; ++j) {
      const float sg = sigmoid(gate[i * ld + j]);
      const float g = dout[i * d + j];
      dgate[i * ld + j] = g * o[i * d + j] * sg * (1.0f - sg);
      d_o[i * d + j] = g * sg;
    }
}

}  // namespace s0::ops::cpu
