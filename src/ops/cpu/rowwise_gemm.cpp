#include "ops/cpu/rowwise_gemm.h"

namespace s0::ops {

namespace {

// dot(x, w) over n elements with `Lanes` independent partial sums in Acc precision, then a fixed
// pairwise reduction. The lane loop has a constant trip count, so the compiler vectorises it (AVX2
// + FMA) without reassociating anything: the order is the same on every call.
template <typename Acc, int Lanes>
Acc dot(const float* x, const float* w, int64_t n) {
  Acc lane[Lanes] = {};
  int64_t k = 0;
  for (; k + Lanes <= n; k += Lanes)
    for (int l = 0; l < Lanes; ++l) lane[l] += static_cast<Acc>(x[k + l]) * static_cast<Acc>(w[k + l]);
  for (int l = 0; k < n; ++k, ++l) lane[l] += static_cast<Acc>(x[k]) * static_cast<Acc>(w[k]);
  for (int width = Lanes / 2; width > 0; width /= 2)
    for (int l = 0; l < width; ++l) lane[l] += lane[l + width];
  return lane[0];
}

template <typename Acc, int Lanes>
void rowwise(const float* x, int64_t m, const float* w, const float* bias, int64_t in, int64_t out, float* y,
             bool add) {
  // Columns outermost: row j of W stays in cache while every x_i meets it.
#pragma omp parallel for schedule(static) if (out * in > 65536)
  for (int64_t j = 0; j < out; ++j) {
    const float* wj = w + j * in;
    for (int64_t i = 0; i < m; ++i) {
      Acc v = dot<Acc, Lanes>(x + i * in, wj, in);
      if (bias) v += static_cast<Acc>(bias[j]);
      float& dst = y[i * out + j];
      dst = static_cast<float>(add ? static_cast<Acc>(dst) + v : v);
    }
  }
}

}  // namespace

void rowwise_linear(const float* x, int64_t m, const float* w, const float* bias, int64_t in, int64_t out, float* y,
                    bool add) {
  rowwise<float, 16>(x, m, w, bias, in, out, y, add);
}

void rowwise_linear_f64(const float* x, int64_t m, const float* w, const float* bias, int64_t in, int64_t out,
                        float* y, bool add) {
  rowwise<double, 8>(x, m, w, bias, in, out, y, add);
}

}  // namespace s0::ops
