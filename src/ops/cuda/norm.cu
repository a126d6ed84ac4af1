#include "ops/cuda/norm.h"

#include <type_traits>

#include "ops/cuda/block_reduce.cuh"
#include "ops/cuda/cells.cuh"
#include "ops/cuda/check.h"
#include "ops/cuda/dependent_launch.cuh"
#include "ops/cuda/pointwise.cuh"
#include "ops/cuda/store.cuh"
#include "ops/cuda/stream.h"

namespace s0::ops::cuda {

namespace {

// Where row b of `len` elements starts in a matrix of lines `ld` apart, each holding `per_line` rows
// side by side: the heads of a projection's column block, read or written in place (a contiguous
// matrix is one row per line, ld = len).
struct RowLayout {
  int64_t per_line, ld;
  __device__ int64_t offset(int64_t b, int64_t len) const { return (b / per_line) * ld + (b % per_line) * len; }
};

// RMS and L2 norms are one computation, u = x * r, r = (sum(x^2) / div + eps)^(-1/2), with
// div = len for RMS and 1 for L2; y = u * w (w null: no weight). Block b owns row b. Each thread
// reads and writes only its own elements, so y may be x. A decode step's rows are few and long
// (one block for a 2560-wide row), so each thread loads a tile of kNormTile of its elements before
// it uses or stores any: with one load at a time behind each store (which may alias x and w), the
// kernel waited on memory latency, about 10 us a row. The sum keeps the order j = thread,
// thread + blockDim, ...
// A row of at most kNormHeld elements a thread (4096 at 256 threads: every hidden size the engine
// runs) is read once, its weights with it: each thread keeps its elements in registers from the
// sum to the store (one round trip to memory where the tiled loop below makes four at a 2560-wide
// row). Same elements per thread in the same order, so the same bits as the tiled loop.
constexpr int kNormTile = 8, kNormHeld = 16;

template <typename T>
__device__ void norm_held_row(const float* xi, const float* w, int64_t len, double div, float eps, T* yi,
                              float* r_out) {
  wait_for_predecessors();  // launched as a dependent (decode steps: its launch overlaps the kernel before)
  float v[kNormHeld], wk[kNormHeld];
#pragma unroll
  for (int k = 0; k < kNormHeld; ++k) {
    const int64_t j = threadIdx.x + static_cast<int64_t>(k) * blockDim.x;
    v[k] = j < len ? xi[j] : 0.0f;
    wk[k] = w && j < len ? w[j] : 1.0f;
  }
  double ss = 0;
#pragma unroll
  for (int k = 0; k < kNormHeld; ++k)
    if (threadIdx.x + static_cast<int64_t>(k) * blockDim.x < len) ss += double(v[k]) * v[k];
  const float r = static_cast<float>(1.0 / sqrt(block_sum(ss) / div + eps));
  if (r_out && threadIdx.x == 0) r_out[blockIdx.x] = r;
#pragma unroll
  for (int k = 0; k < kNormHeld; ++k) {
    const int64_t j = threadIdx.x + static_cast<int64_t>(k) * blockDim.x;
    if (j < len) store(yi + j, w ? v[k] * r * wk[k] : v[k] * r);
  }
}

template <typename T>
__global__ void norm_rows_forward(const float* x, RowLayout x_rows, const float* w, int64_t len, double div, float eps,
                                  T* y, float* r_out) {
  allow_dependents();  // the projection after a norm may start loading its weights
  const float* xi = x + x_rows.offset(blockIdx.x, len);
  if (len <= kNormHeld * static_cast<int64_t>(blockDim.x))
    return norm_held_row(xi, w, len, div, eps, y + blockIdx.x * len, r_out);
  wait_for_predecessors();  // launched as a dependent itself
  const int64_t tile = kNormTile * static_cast<int64_t>(blockDim.x);
  double ss = 0;
  for (int64_t base = threadIdx.x; base < len; base += tile) {
    float v[kNormTile];
#pragma unroll
    for (int k = 0; k < kNormTile; ++k) v[k] = base + k * blockDim.x < len ? xi[base + k * blockDim.x] : 0.0f;
#pragma unroll
    for (int k = 0; k < kNormTile; ++k)
      if (base + k * blockDim.x < len) ss += double(v[k]) * v[k];
  }
  const float r = static_cast<float>(1.0 / sqrt(block_sum(ss) / div + eps));
  if (r_out && threadIdx.x == 0) r_out[blockIdx.x] = r;
  T* yi = y + blockIdx.x * len;
  for (int64_t base = threadIdx.x; base < len; base += tile) {
    float v[kNormTile], wk[kNormTile];
#pragma unroll
    for (int k = 0; k < kNormTile; ++k) {
      const int64_t j = base + k * blockDim.x;
      v[k] = j < len ? xi[j] : 0.0f;
      wk[k] = w && j < len ? w[j] : 1.0f;
    }
#pragma unroll
    for (int k = 0; k < kNormTile; ++k) {
      const int64_t j = base + k * blockDim.x;
      if (j < len) store(yi + j, w ? v[k] * r * wk[k] : v[k] * r);
    }
  }
}

// dx = r du - x (c r^3 sum(x du)), du = dy * w, c = 1 / div (ops/cpu/norm.h's norm_row_backward).
// x and dx: rows laid out as x_rows and dx_rows; dy contiguous.
__global__ void norm_rows_backward(const float* x, RowLayout x_rows, const float* w, const float* r_saved,
                                   const float* dy, int64_t len, double div, float* dx, RowLayout dx_rows,
                                   bool accumulate) {
  const int64_t off = blockIdx.x * len;
  const float* xi = x + x_rows.offset(blockIdx.x, len);
  float* dxi = dx + dx_rows.offset(blockIdx.x, len);
  double dot = 0;
  for (int64_t j = threadIdx.x; j < len; j += blockDim.x)
    dot += double(xi[j]) * (w ? dy[off + j] * w[j] : dy[off + j]);
  const float r = r_saved[blockIdx.x];
  const float k = static_cast<float>(double(r) * r * r * block_sum(dot) / div);
  for (int64_t j = threadIdx.x; j < len; j += blockDim.x) {
    const float du = w ? dy[off + j] * w[j] : dy[off + j];
    const float g = r * du - xi[j] * k;
    dxi[j] = accumulate ? dxi[j] + g : g;
  }
}

// What the gated norm normalises: y * silu(z) before the norm (GateThenNorm), y itself after.
__device__ inline float gated_input(float y, float z, GateOrder order) {
  return order == GateOrder::GateThenNorm ? y * silu(z) : y;
}

// Block b owns group b of `group` consecutive channels (groups are numbered row-major, so the
// weight's group is b % groups and rstd's index is b). z's rows are ldz apart (a projection's
// columns, read in place).
template <typename T>
__global__ void gated_norm_forward(const float* y, const float* z, int64_t ldz, const float* w, int64_t group,
                                   int64_t groups, float eps, GateOrder order, T* out, float* rstd) {
  allow_dependents();  // the output projection may start loading its weights
  wait_for_predecessors();  // launched as a dependent itself
  const int64_t off = blockIdx.x * group;
  const float* zg = z + RowLayout{groups, ldz}.offset(blockIdx.x, group);
  const float* wg = w + (blockIdx.x % groups) * group;
  double ss = 0;
  for (int64_t j = threadIdx.x; j < group; j += blockDim.x) {
    const float a = gated_input(y[off + j], zg[j], order);
    ss += double(a) * a;
  }
  const float r = static_cast<float>(1.0 / sqrt(block_sum(ss) / double(group) + eps));
  if (rstd && threadIdx.x == 0) rstd[blockIdx.x] = r;
  for (int64_t j = threadIdx.x; j < group; j += blockDim.x) {
    const float a = gated_input(y[off + j], zg[j], order);
    store(out + off + j, order == GateOrder::GateThenNorm ? a * r * wg[j] : a * r * wg[j] * silu(zg[j]));
  }
}

// GateThenNorm: out = norm(a) w, a = y silu(z): du = dout w, da from the norm, then dy and dz from a.
// NormThenGate: out = norm(y) w silu(z): du = dout w silu(z), dy from the norm, dz directly.
// z and dz: rows ldz and lddz apart, as in the forward.
__global__ void gated_norm_backward(const float* y, const float* z, int64_t ldz, const float* w, const float* rstd,
                                    const float* dout, int64_t group, int64_t groups, GateOrder order, float* dy,
                                    float* dz, int64_t lddz) {
  const int64_t off = blockIdx.x * group;
  const float* zg = z + RowLayout{groups, ldz}.offset(blockIdx.x, group);
  float* dzg = dz + RowLayout{groups, lddz}.offset(blockIdx.x, group);
  const float* wg = w + (blockIdx.x % groups) * group;
  const bool gate_first = order == GateOrder::GateThenNorm;
  auto du_of = [&](int64_t j) { return gate_first ? dout[off + j] * wg[j] : dout[off + j] * wg[j] * silu(zg[j]); };
  double dot = 0;
  for (int64_t j = threadIdx.x; j < group; j += blockDim.x)
    dot += double(gated_input(y[off + j], zg[j], order)) * du_of(j);
  const float r = rstd[blockIdx.x];
  const float k = static_cast<float>(double(r) * r * r * block_sum(dot) / double(group));
  for (int64_t j = threadIdx.x; j < group; j += blockDim.x) {
    const float yj = y[off + j], zj = zg[j], du = du_of(j);
    const float dnorm = r * du - gated_input(yj, zj, order) * k;
    if (gate_first) {
      dzg[j] = dnorm * yj * silu_grad(zj);
      dy[off + j] = dnorm * silu(zj);
    } else {
      dzg[j] = dout[off + j] * yj * r * wg[j] * silu_grad(zj);
      dy[off + j] = dnorm;
    }
  }
}

template <typename T>
void gated_rmsnorm_forward_into(const float* y, const float* z, int64_t ldz, const float* w, int64_t n, int64_t d,
                                int64_t group, float eps, GateOrder order, T* out, float* rstd) {
  if (order == GateOrder::GateOnly)
    return for_each_cell(
        n, d, [=] __device__(int64_t i, int64_t j) { store(out + i * d + j, y[i * d + j] * silu(z[i * ldz + j])); },
        "gated_rmsnorm_forward");
  const int64_t groups = d / group;
  if (n * groups == 0) return;
  launch_dependent(gated_norm_forward<T>, dim3(static_cast<unsigned>(n * groups)), dim3(row_threads(group)), 0,
                   "gated_rmsnorm_forward", y, z, ldz, w, group, groups, eps, order, out, rstd);
}

}  // namespace

void rmsnorm_forward(const float* x, const float* w, int64_t n, int64_t d, float eps, Output y, float* rstd) {
  if (n == 0) return;
  with_output(y, [&](auto* p) {
    launch_dependent(norm_rows_forward<std::remove_pointer_t<decltype(p)>>, dim3(static_cast<unsigned>(n)),
                     dim3(row_threads(d)), 0, "rmsnorm_forward", x, RowLayout{1, d}, w, d, double(d), eps, p, rstd);
  });
}

void rmsnorm_backward(const float* x, const float* w, const float* rstd, const float* dy, int64_t n, int64_t d,
                      float* dx, bool accumulate) {
  if (n == 0) return;
  norm_rows_backward<<<static_cast<unsigned>(n), row_threads(d), 0, stream()>>>(x, {1, d}, w, rstd, dy, d, double(d),
                                                                                dx, {1, d}, accumulate);
  check_launch("rmsnorm_backward");
}

void l2norm_forward(const float* x, int64_t per_line, int64_t ldx, int64_t n, int64_t d, float eps, float* y,
                    float* rnorm) {
  if (n == 0) return;
  launch_dependent(norm_rows_forward<float>, dim3(static_cast<unsigned>(n)), dim3(row_threads(d)), 0, "l2norm_forward",
                   x, RowLayout{per_line, ldx}, static_cast<const float*>(nullptr), d, 1.0, eps, y, rnorm);
}

void l2norm_backward(const float* x, int64_t per_line, int64_t ldx, const float* rnorm, const float* dy, int64_t n,
                     int64_t d, float* dx, int64_t lddx) {
  if (n == 0) return;
  norm_rows_backward<<<static_cast<unsigned>(n), row_threads(d), 0, stream()>>>(
      x, {per_line, ldx}, nullptr, rnorm, dy, d, 1.0, dx, {per_line, lddx}, false);
  check_launch("l2norm_backward");
}

void gated_rmsnorm_forward(const float* y, const float* z, int64_t ldz, const float* w, int64_t n, int64_t d,
                           int64_t group, float eps, GateOrder order, Output out, float* rstd) {
  with_output(out, [&](auto* p) { gated_rmsnorm_forward_into(y, z, ldz, w, n, d, group, eps, order, p, rstd); });
}

void gated_rmsnorm_backward(const float* y, const float* z, int64_t ldz, const float* w, const float* rstd,
                            const float* dout, int64_t n, int64_t d, int64_t group, GateOrder order, float* dy,
                            float* dz, int64_t lddz) {
  if (order == GateOrder::GateOnly)
    return for_each_cell(
        n, d,
        [=] __device__(int64_t i, int64_t j) {
          const int64_t k = i * d + j;
          const float g = dout[k], zk = z[i * ldz + j], yk = y[k];
          dy[k] = g * silu(zk);
          dz[i * lddz + j] = g * yk * silu_grad(zk);
        },
        "gated_rmsnorm_backward");
  const int64_t groups = d / group;
  if (n * groups == 0) return;
  gated_norm_backward<<<static_cast<unsigned>(n * groups), row_threads(group), 0, stream()>>>(
      y, z, ldz, w, rstd, dout, group, groups, order, dy, dz, lddz);
  check_launch("gated_rmsnorm_backward");
}

}  // namespace s0::ops::cuda
