// Token-by-token Mamba-2 SSD: the oracle forward and backward.
#include "ops/cpu/ssd.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

namespace s0::ops::cpu {

void ssd_reference(const SsdDims& d, const float* x, const float* dt, const float* A, const float* B, const float* C,
                   const float* D, const float* s0, float* y, float* s_final) {
  const int64_t T = d.T, H = d.H, P = d.P, G = d.G, N = d.N;
  const int64_t heads_per_group = H / G;
#pragma omp parallel for schedule(static)
  for (int64_t h = 0; h < H; ++h) {
    const int64_t grp = h / heads_per_group;
    std::vector<float> S(static_cast<size_t>(P * N), 0.0f);
    if (s0) std::memcpy(S.data(), s0 + h * P * N, sizeof(float) * P * N);
    for (int64_t t = 0; t < T; ++t) {
      const float dth = dt[t * H + h];
      const float decay = std::exp(dth * A[h]);
      const float* xt = x + (t * H + h) * P;
      const float* Bt = B + (t * G + grp) * N;
      const float* Ct = C + (t * G + grp) * N;
      float* yt = y + (t * H + h) * P;
      for (int64_t p = 0; p < P; ++p) {
        float* Sp = S.data() + p * N;
        const float u = dth * xt[p];
        float acc = 0.0f;
        for (int64_t n = 0; n < N; ++n) {
          Sp[n] = Sp[n] * decay + u * Bt[n];
          acc += Sp[n] * Ct[n];
        }
        yt[p] = acc + D[h] * xt[p];
      }
    }
    if (s_final) std::memcpy(s_final + h * P * N, S.data(), sizeof(float) * P * N);
  }
}

void ssd_reference_backward(const SsdDims& d, const float* x, const float* dt, const float* A, const float* B,
                            const float* C, const float* D, const float* s0, const float* d_y,
                            const float* d_s_final, float* dx, float* ddt, float* dB, float* dC, float* dD,
                            float* ds0) {
  const int64_t T = d.T, H = d.H, P = d.P, G = d.G, N = d.N, state = d.P * d.N;
  const int64_t heads_per_group = H / G;
  // Parallel over groups: the heads of a group add into the same rows of dB and dC.
#pragma omp parallel for schedule(static)
  for (int64_t grp = 0; grp < G; ++grp) {
    for (int64_t t = 0; t < T; ++t) {
      std::fill_n(dB + (t * G + grp) * N, N, 0.0f);
      std::fill_n(dC + (t * G + grp) * N, N, 0.0f);
    }
    // states[t] is the state before token t; states[T] the final one.
    std::vector<float> states(static_cast<size_t>((T + 1) * state)), dS(static_cast<size_t>(state));
    for (int64_t h = grp * heads_per_group; h < (grp + 1) * heads_per_group; ++h) {
      std::fill(states.begin(), states.end(), 0.0f);
      if (s0) std::memcpy(states.data(), s0 + h * state, sizeof(float) * state);
      for (int64_t t = 0; t < T; ++t) {
        const float dth = dt[t * H + h], decay = std::exp(dth * A[h]);
        const float* xt = x + (t * H + h) * P;
        const float* Bt = B + (t * G + grp) * N;
        const float* prev = states.data() + t * state;
        float* next = states.data() + (t + 1) * state;
        for (int64_t p = 0; p < P; ++p)
          for (int64_t n = 0; n < N; ++n) next[p * N + n] = decay * prev[p * N + n] + dth * xt[p] * Bt[n];
      }
      std::fill(dS.begin(), dS.end(), 0.0f);
      if (d_s_final) std::memcpy(dS.data(), d_s_final + h * state, sizeof(float) * state);
      float d_skip = 0.0f;
      for (int64_t t = T - 1; t >= 0; --t) {
        const float dth = dt[t * H + h], decay = std::exp(dth * A[h]);
        const float* xt = x + (t * H + h) * P;
        const float* Bt = B + (t * G + grp) * N;
        const float* Ct = C + (t * G + grp) * N;
        const float* dyt = d_y + (t * H + h) * P;
        const float* prev = states.data() + t * state;
        const float* after = states.data() + (t + 1) * state;
        float* dxt = dx + (t * H + h) * P;
        float* dBt = dB + (t * G + grp) * N;
        float* dCt = dC + (t * G + grp) * N;
        // y = S C + D x
        for (int64_t p = 0; p < P; ++p) {
          d_skip += dyt[p] * xt[p];
          dxt[p] = D[h] * dyt[p];
          for (int64_t n = 0; n < N; ++n) {
            dCt[n] += after[p * N + n] * dyt[p];
            dS[p * N + n] += dyt[p] * Ct[n];
          }
        }
        // S = exp(dt A) S_prev + dt x B^T
        float d_step = 0.0f;
        for (int64_t p = 0; p < P; ++p) {
          float dx_acc = 0.0f;
          for (int64_t n = 0; n < N; ++n) {
            const float ds = dS[p * N + n];
            dBt[n] += ds * dth * xt[p];
            dx_acc += ds * Bt[n];
            d_step += ds * (xt[p] * Bt[n] + A[h] * decay * prev[p * N + n]);
            dS[p * N + n] = decay * ds;
          }
          dxt[p] += dth * dx_acc;
        }
        ddt[t * H + h] = d_step;
      }
      dD[h] = d_skip;
      if (ds0) std::memcpy(ds0 + h * state, dS.data(), sizeof(float) * state);
    }
  }
}

}  // namespace s0::ops::cpu
