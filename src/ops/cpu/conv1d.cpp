#include "ops/cpu/conv1d.h"

#include "ops/cpu/activation.h"

namespace s0::ops::cpu {

void conv1d_silu_forward(const float* x, int64_t ldx, const float* w, const float* bias, const float* history,
                         int64_t T, int64_t C, int64_t K, float* y, float* pre) {
#pragma omp parallel for schedule(static) if (T * C * K > 65536)
  for (int64_t t = 0; t < T; ++t) {
    for (int64_t c = 0; c < C; ++c) {
      float acc = bias ? bias[c] : 0.0f;
      for (int64_t j = 0; j < K; ++j) {
        int64_t src = t - (K - 1) + j;  // tap j reads input t - (K-1-j)
        float xv;
        if (src >= 0) xv = x[src * ldx + c];
        else if (history) xv = history[(K - 1 + src) * C + c];
        else continue;
        acc += w[c * K + j] * xv;
      }
      if (pre) pre[t * C + c] = acc;
      y[t * C + c] = silu(acc);
    }
  }
}

void conv1d_advance_history(float* history, const float* x, int64_t ldx, int64_t T, int64_t C, int64_t K) {
  // Row r of the new window is input number T + r - (K-1) of the joined sequence; negative numbers
  // index the old window, so rows move forward in place.
  for (int64_t r = 0; r < K - 1; ++r) {
    const int64_t src = T + r - (K - 1);
    const float* from = src >= 0 ? x + src * ldx : history + (K - 1 + src) * C;
    for (int64_t c = 0; c < C; ++c) history[r * C + c] = from[c];
  }
}

void conv1d_silu_backward(const float* w, const float* pre, const float* dy, int64_t T, int64_t C, int64_t K,
                          float* dx, int64_t lddx) {
#pragma omp parallel for schedule(static) if (T * C * K > 65536)
  for (int64_t s = 0; s < T; ++s) {
    for (int64_t c = 0; c < C; ++c) {
      // Input s feeds output t = s + (K-1-j) through tap j; outputs past T-1 do not exist.
      float acc = 0.0f;
      for (int64_t j = 0; j < K; ++j) {
        const int64_t t = s + (K - 1 - j);
        if (t >= T) continue;
        acc += w[c * K + j] * dy[t * C + c] * silu_grad(pre[t * C + c]);
      }
      dx[s * lddx + c] = acc;
    }
  }
}

}  // namespace s0::ops::cpu
