#include "ops/cpu/norm.h"

#include <cmath>

#include "ops/cpu/activation.h"
#include "ops/cpu/thread_cache.h"

namespace s0::ops::cpu {

namespace {
// Tags of the backwards' per-thread row buffers (thread_cache.h).
struct RowGradient;
struct GatedRow;
struct GateRow;
struct SlopeRow;

inline float group_rstd(const float* x, int64_t d, float eps) {
  double ss = 0;  // double accumulation keeps long rows exact to float precision
  for (int64_t j = 0; j < d; ++j) ss += static_cast<double>(x[j]) * x[j];
  return static_cast<float>(1.0 / std::sqrt(ss / static_cast<double>(d) + eps));
}
}  // namespace

void rmsnorm_forward(const float* x, const float* w, int64_t n, int64_t d, float eps, float* y, float* rstd) {
#pragma omp parallel for schedule(static) if (n * d > 65536)
  for (int64_t i = 0; i < n; ++i) {
    const float* xi = x + i * d;
    float r = group_rstd(xi, d, eps);
    if (rstd) rstd[i] = r;
    float* yi = y + i * d;
    for (int64_t j = 0; j < d; ++j) yi[j] = xi[j] * r * w[j];
  }
}

void gated_rmsnorm_forward(const float* y, const float* z, const float* w, int64_t n, int64_t d, int64_t group,
                           float eps, GateOrder order, float* out, float* rstd) {
  gated_rmsnorm_forward_strided(y, z, d, w, n, d, group, eps, order, out, rstd);
}

void gated_rmsnorm_forward_strided(const float* y, const float* z, int64_t ldz, const float* w, int64_t n, int64_t d,
                                   int64_t group, float eps, GateOrder order, float* out, float* rstd) {
  const int64_t groups = d / group;
#pragma omp parallel for schedule(static) if (n * d > 65536)
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t g = 0; g < groups; ++g) {
      const int64_t off = i * d + g * group;
      const float* yi = y + off;
      const float* zi = z + i * ldz + g * group;
      float* oi = out + off;
      const float* wg = w ? w + g * group : nullptr;
      if (order == GateOrder::GateOnly) {
        for (int64_t j = 0; j < group; ++j) oi[j] = yi[j] * silu(zi[j]);
        continue;
      }
      if (order == GateOrder::GateThenNorm) {
        for (int64_t j = 0; j < group; ++j) oi[j] = yi[j] * silu(zi[j]);
        float r = group_rstd(oi, group, eps);
        if (rstd) rstd[i * groups + g] = r;
        for (int64_t j = 0; j < group; ++j) oi[j] = oi[j] * r * wg[j];
      } else {
        float r = group_rstd(yi, group, eps);
        if (rstd) rstd[i * groups + g] = r;
        for (int64_t j = 0; j < group; ++j) oi[j] = yi[j] * r * wg[j] * silu(zi[j]);
      }
    }
  }
}

void norm_row_backward(const float* x, float r, double c, const float* du, int64_t len, float* dx, bool accumulate) {
  double dot = 0;
  for (int64_t j = 0; j < len; ++j) dot += static_cast<double>(x[j]) * du[j];
  const float k = static_cast<float>(c * r * r * r * dot);
  for (int64_t j = 0; j < len; ++j) {
    float g = r * du[j] - x[j] * k;
    dx[j] = accumulate ? dx[j] + g : g;
  }
}

void rmsnorm_backward(const float* x, const float* w, const float* rstd, const float* dy, int64_t n, int64_t d,
                      float* dx, bool accumulate) {
  const double c = 1.0 / static_cast<double>(d);
#pragma omp parallel for schedule(static) if (n * d > 65536)
  for (int64_t i = 0; i < n; ++i) {
    float* du = thread_buffer<RowGradient>(static_cast<size_t>(d));
    const float* dyi = dy + i * d;
    for (int64_t j = 0; j < d; ++j) du[j] = dyi[j] * w[j];
    norm_row_backward(x + i * d, rstd[i], c, du, d, dx + i * d, accumulate);
  }
}

void gated_rmsnorm_backward(const float* y, const float* z, const float* w, const float* rstd, const float* dout,
                            int64_t n, int64_t d, int64_t group, GateOrder order, float* dy, float* dz) {
  gated_rmsnorm_backward_strided(y, z, d, w, rstd, dout, n, d, group, order, dy, dz, d);
}

void gated_rmsnorm_backward_strided(const float* y, const float* z, int64_t ldz, const float* w, const float* rstd,
                                    const float* dout, int64_t n, int64_t d, int64_t group, GateOrder order, float* dy,
                                    float* dz, int64_t lddz) {
  const int64_t groups = d / group;
  const double c = 1.0 / static_cast<double>(group);
#pragma omp parallel for schedule(static) if (n * d > 65536)
  for (int64_t i = 0; i < n; ++i) {
    // du: gradient to the normalised group (before w), a: the gated input GateThenNorm normalises.
    float* du = thread_buffer<RowGradient>(static_cast<size_t>(group));
    float* a = thread_buffer<GatedRow>(static_cast<size_t>(group));
    float* gate = thread_buffer<GateRow>(static_cast<size_t>(group));   // silu(z), GateThenNorm only
    float* slope = thread_buffer<SlopeRow>(static_cast<size_t>(group));  // silu'(z), GateThenNorm only
    for (int64_t g = 0; g < groups; ++g) {
      const int64_t off = i * d + g * group;
      const float* yi = y + off;
      const float* zi = z + i * ldz + g * group;
      const float* doi = dout + off;
      float* dyi = dy + off;
      float* dzi = dz + i * lddz + g * group;
      const float* wg = w ? w + g * group : nullptr;
      if (order == GateOrder::GateOnly) {
        for (int64_t j = 0; j < group; ++j) {
          const SiluWithGrad s = silu_with_grad(zi[j]);
          dyi[j] = doi[j] * s.value;
          dzi[j] = doi[j] * yi[j] * s.grad;
        }
        continue;
      }
      const float r = rstd[i * groups + g];
      if (order == GateOrder::GateThenNorm) {
        // out = norm(y * silu(z)) * w: back through the norm to a = y * silu(z), then the product.
        for (int64_t j = 0; j < group; ++j) {
          const SiluWithGrad s = silu_with_grad(zi[j]);
          gate[j] = s.value;
          slope[j] = s.grad;
          a[j] = yi[j] * s.value;
          du[j] = doi[j] * wg[j];
        }
        norm_row_backward(a, r, c, du, group, dyi, false);  // dyi holds da for now
        for (int64_t j = 0; j < group; ++j) {
          const float da = dyi[j];
          dzi[j] = da * yi[j] * slope[j];
          dyi[j] = da * gate[j];
        }
      } else {
        // out = norm(y) * w * silu(z).
        for (int64_t j = 0; j < group; ++j) {
          const SiluWithGrad s = silu_with_grad(zi[j]);
          du[j] = doi[j] * wg[j] * s.value;
          dzi[j] = doi[j] * yi[j] * r * wg[j] * s.grad;
        }
        norm_row_backward(yi, r, c, du, group, dyi, false);
      }
    }
  }
}

}  // namespace s0::ops::cpu
