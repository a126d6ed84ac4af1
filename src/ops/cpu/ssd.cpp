#include "ops/cpu/ssd.h"

#include <cmath>
#include <cstring>
#include <vector>

namespace s0::ops {

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

void ssd_chunked(const SsdDims& d, const float* x, const float* dt, const float* A, const float* B, const float* C,
                 const float* D, const float* s0, float* y, float* s_final, int64_t chunk) {
  // Until the chunked kernel lands, the production path is the exact token-by-token form.
  (void)chunk;
  ssd_reference(d, x, dt, A, B, C, D, s0, y, s_final);
}

}  // namespace s0::ops
