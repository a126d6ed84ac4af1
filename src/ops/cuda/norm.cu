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
// div = len for RMS and 1 for L2; y = u * w (w null: no weight). Unit u owns row u.row() of n
// (ops/cuda/block_reduce.cuh). Each thread reads and writes only its own elements, so y may be x.
// A decode step's rows are few and long (one block for a 2560-wide row), so each thread loads a
// tile of kNormTile of its elements before it uses or stores any: with one load at a time behind
// each store (which may alias x and w), the kernel waited on memory latency, about 10 us a row.
// The sum keeps the order j = thread, thread + threads, ...
// A row of at most kNormHeld elements a thread (4096 at 256 threads: every hidden size the engine
// runs) is read once, its weights with it: each thread keeps its elements in registers from the
// sum to the store (one round trip to memory where the tiled loop below makes four at a 2560-wide
// row). Same elements per thread in the same order, so the same bits as the tiled loop.
// Copies: each normalised row is written to `copies` consecutive rows of y, times `scale`
// (GatedDeltaNet's key heads expanded to its value heads, ops/heads.h). Kernels without them
// (kCopies false: one copy, scale 1) are a separate instance with no copy loop: with a run-time
// loop around each access, the RMS norm's backward over 2560-wide rows took a third longer
// (H100, ncu).
constexpr int kNormTile = 8, kNormHeld = 16;
// The backward kernels hold a warp's row in registers (WarpRow rows: at most kWarpRowMax long, so
// kHeldBack elements a lane). A block's row (BlockRow: the hidden size's RMS norm, at the memory
// bandwidth already) is read twice: held, its gated norm took 151 registers a thread.
constexpr int kHeldBack = static_cast<int>(kWarpRowMax / 32);

struct Copies {
  int64_t count;
  float scale;
};

// Element j of a normalised row, into each of its copies (rows len apart from yi).
template <bool kCopies, typename T>
__device__ void store_copies(T* yi, int64_t j, int64_t len, float normed, Copies copies) {
  if constexpr (kCopies) {
    for (int64_t c = 0; c < copies.count; ++c) store(yi + c * len + j, normed * copies.scale);
  } else {
    store(yi + j, normed);
  }
}

// f(std::integral_constant<bool, kCopies>) for `copies`.
template <typename F>
void with_copies(Copies copies, F&& f) {
  if (copies.count == 1 && copies.scale == 1.0f) return f(std::false_type{});
  f(std::true_type{});
}

// A run of K elements of a thread, j = base + k step: x's row and w (1 where there is none) into
// registers, zero past len; their sum of squares, added in k order; their normalised values stored.
template <int K>
__device__ void load_run(const float* xi, const float* w, int64_t base, int64_t step, int64_t len, float (&v)[K],
                         float (&wk)[K]) {
#pragma unroll
  for (int k = 0; k < K; ++k) {
    const int64_t j = base + k * step;
    v[k] = j < len ? xi[j] : 0.0f;
    wk[k] = w && j < len ? w[j] : 1.0f;
  }
}

template <int K>
__device__ double sum_of_squares_run(const float (&v)[K], int64_t base, int64_t step, int64_t len, double ss) {
#pragma unroll
  for (int k = 0; k < K; ++k)
    if (base + k * step < len) ss += double(v[k]) * v[k];
  return ss;
}

template <int K, bool kCopies, typename T>
__device__ void store_run(T* yi, bool weighted, const float (&v)[K], const float (&wk)[K], float r, int64_t base,
                          int64_t step, int64_t len, Copies copies) {
#pragma unroll
  for (int k = 0; k < K; ++k) {
    const int64_t j = base + k * step;
    if (j < len) store_copies<kCopies>(yi, j, len, weighted ? v[k] * r * wk[k] : v[k] * r, copies);
  }
}

template <bool kCopies, typename T, typename Unit>
__device__ void norm_held_row(const Unit& u, const float* xi, const float* w, int64_t len, double div, float eps,
                              Copies copies, T* yi, float* r_out, int64_t b) {
  const int64_t t0 = u.thread(), step = u.threads();
  float v[kNormHeld], wk[kNormHeld];
  load_run(xi, w, t0, step, len, v, wk);
  const float r = static_cast<float>(1.0 / sqrt(u.sum(sum_of_squares_run(v, t0, step, len, 0.0)) / div + eps));
  if (r_out && t0 == 0) r_out[b] = r;
  store_run<kNormHeld, kCopies>(yi, w != nullptr, v, wk, r, t0, step, len, copies);
}

template <bool kCopies, typename T, typename Unit>
__global__ void norm_rows_forward(const float* x, RowLayout x_rows, int64_t n, const float* w, int64_t len, double div,
                                  float eps, Copies copies, T* y, float* r_out) {
  allow_dependents();  // the projection after a norm may start loading its weights
  wait_for_predecessors();  // launched as a dependent itself (decode steps: its launch overlaps the kernel before)
  const Unit u;
  const int64_t b = u.row();
  if (b >= n) return;
  const int64_t t0 = u.thread(), step = u.threads();
  const float* xi = x + x_rows.offset(b, len);
  T* yi = y + b * copies.count * len;
  if (len <= kNormHeld * step) return norm_held_row<kCopies>(u, xi, w, len, div, eps, copies, yi, r_out, b);
  const int64_t tile = kNormTile * step;
  double ss = 0;
  for (int64_t base = t0; base < len; base += tile) {
    float v[kNormTile];
#pragma unroll
    for (int k = 0; k < kNormTile; ++k) v[k] = base + k * step < len ? xi[base + k * step] : 0.0f;
    ss = sum_of_squares_run(v, base, step, len, ss);
  }
  const float r = static_cast<float>(1.0 / sqrt(u.sum(ss) / div + eps));
  if (r_out && t0 == 0) r_out[b] = r;
  for (int64_t base = t0; base < len; base += tile) {
    float v[kNormTile], wk[kNormTile];
    load_run(xi, w, base, step, len, v, wk);
    store_run<kNormTile, kCopies>(yi, w != nullptr, v, wk, r, base, step, len, copies);
  }
}

// dx = r du - x (c r^3 sum(x du)), du = dy * w, c = 1 / div (ops/cpu/norm.h's norm_row_backward).
// x and dx: rows laid out as x_rows and dx_rows; dy contiguous, and with copies, dy's row is the
// sum of its copies' rows times the scale, added in copy order (ops/cpu/heads.h's reduce_heads).
// A warp's row keeps x and du in registers between the sum and the store (read once, not twice:
// the L2 norm's backward over the key heads took 74 us a call at the 4B training shape, at about
// a third of the memory bandwidth); the same elements per thread in the same order either way, so
// the same bits.
template <bool kCopies, typename Unit>
__global__ void norm_rows_backward(const float* x, RowLayout x_rows, int64_t n, const float* w, const float* r_saved,
                                   const float* dy, Copies copies, int64_t len, double div, float* dx,
                                   RowLayout dx_rows, bool accumulate) {
  const Unit u;
  const int64_t b = u.row();
  if (b >= n) return;
  const int64_t t0 = u.thread(), step = u.threads();
  const float* dyi = dy + b * copies.count * len;
  const float* xi = x + x_rows.offset(b, len);
  float* dxi = dx + dx_rows.offset(b, len);
  auto dy_of = [&](int64_t j) {
    if constexpr (!kCopies) return dyi[j];
    float acc = 0.0f;
    for (int64_t c = 0; c < copies.count; ++c) acc += dyi[c * len + j] * copies.scale;
    return acc;
  };
  auto du_of = [&](int64_t j) { return w ? dy_of(j) * w[j] : dy_of(j); };
  const float r = r_saved[b];
  auto scale = [&](double dot) { return static_cast<float>(double(r) * r * r * u.sum(dot) / div); };
  auto write = [&](int64_t j, float x, float du, float k) {
    const float g = r * du - x * k;
    dxi[j] = accumulate ? dxi[j] + g : g;
  };
  constexpr int kHeld = kHeldBack;
  if constexpr (std::is_same_v<Unit, WarpRow>) {  // the row's x and du held in registers from the sum to the store
    float xv[kHeld], duv[kHeld];
#pragma unroll
    for (int i = 0; i < kHeld; ++i) {
      const int64_t j = t0 + i * step;
      xv[i] = j < len ? xi[j] : 0.0f;
      duv[i] = j < len ? du_of(j) : 0.0f;
    }
    double dot = 0;
#pragma unroll
    for (int i = 0; i < kHeld; ++i)
      if (t0 + i * step < len) dot += double(xv[i]) * duv[i];
    const float k = scale(dot);
#pragma unroll
    for (int i = 0; i < kHeld; ++i)
      if (t0 + i * step < len) write(t0 + i * step, xv[i], duv[i], k);
    return;
  }
  double dot = 0;
  for (int64_t j = t0; j < len; j += step) dot += double(xi[j]) * du_of(j);
  const float k = scale(dot);
  for (int64_t j = t0; j < len; j += step) write(j, xi[j], du_of(j), k);
}

// What the gated norm normalises: y * silu(z) before the norm (GateThenNorm), y itself after.
__device__ inline float gated_input(float y, float z, GateOrder order) {
  return order == GateOrder::GateThenNorm ? y * silu(z) : y;
}

// Unit b owns group b of `group` consecutive channels (groups are numbered row-major, so the
// weight's group is b % groups and rstd's index is b). z's rows are ldz apart (a projection's
// columns, read in place). GatedGroup: where group b starts in y (and out, dy), z and w.
struct GatedGroup {
  int64_t off;
  const float* z;
  const float* w;
  __device__ GatedGroup(int64_t b, const float* z_all, int64_t ldz, const float* w_all, int64_t group, int64_t groups)
      : off(b * group), z(z_all + RowLayout{groups, ldz}.offset(b, group)), w(w_all + (b % groups) * group) {}
};

template <typename T, typename Unit>
__global__ void gated_norm_forward(const float* y, const float* z, int64_t ldz, const float* w, int64_t n,
                                   int64_t group, int64_t groups, float eps, GateOrder order, T* out, float* rstd) {
  allow_dependents();  // the output projection may start loading its weights
  wait_for_predecessors();  // launched as a dependent itself
  const Unit u;
  const int64_t b = u.row();
  if (b >= n) return;
  const int64_t t0 = u.thread(), step = u.threads();
  const GatedGroup g(b, z, ldz, w, group, groups);
  double ss = 0;
  for (int64_t j = t0; j < group; j += step) {
    const float a = gated_input(y[g.off + j], g.z[j], order);
    ss += double(a) * a;
  }
  const float r = static_cast<float>(1.0 / sqrt(u.sum(ss) / double(group) + eps));
  if (rstd && t0 == 0) rstd[b] = r;
  for (int64_t j = t0; j < group; j += step) {
    const float a = gated_input(y[g.off + j], g.z[j], order);
    store(out + g.off + j, order == GateOrder::GateThenNorm ? a * r * g.w[j] : a * r * g.w[j] * silu(g.z[j]));
  }
}

// GateThenNorm: out = norm(a) w, a = y silu(z): du = dout w, da from the norm, then dy and dz from a.
// NormThenGate: out = norm(y) w silu(z): du = dout w silu(z), dy from the norm, dz directly.
// z and dz: rows ldz and lddz apart, as in the forward.
template <typename Unit>
__global__ void gated_norm_backward(const float* y, const float* z, int64_t ldz, const float* w, const float* rstd,
                                    const float* dout, int64_t n, int64_t group, int64_t groups, GateOrder order,
                                    float* dy, float* dz, int64_t lddz) {
  const Unit u;
  const int64_t b = u.row();
  if (b >= n) return;
  const int64_t t0 = u.thread(), step = u.threads();
  const GatedGroup g(b, z, ldz, w, group, groups);
  float* dzg = dz + RowLayout{groups, lddz}.offset(b, group);
  const bool gate_first = order == GateOrder::GateThenNorm;
  auto du_of = [&](float doutj, int64_t j, float zj) {
    return gate_first ? doutj * g.w[j] : doutj * g.w[j] * silu(zj);
  };
  const float r = rstd[b];
  auto scale = [&](double dot) { return static_cast<float>(double(r) * r * r * u.sum(dot) / double(group)); };
  auto write = [&](int64_t j, float yj, float zj, float doutj, float k) {
    const float dnorm = r * du_of(doutj, j, zj) - gated_input(yj, zj, order) * k;
    if (gate_first) {
      dzg[j] = dnorm * yj * silu_grad(zj);
      dy[g.off + j] = dnorm * silu(zj);
    } else {
      dzg[j] = doutj * yj * r * g.w[j] * silu_grad(zj);
      dy[g.off + j] = dnorm;
    }
  };
  constexpr int kHeld = kHeldBack;
  if constexpr (std::is_same_v<Unit, WarpRow>) {  // y, z and dout held in registers from the sum to the stores
    float yv[kHeld], zv[kHeld], dv[kHeld];
#pragma unroll
    for (int i = 0; i < kHeld; ++i) {
      const int64_t j = t0 + i * step;
      yv[i] = j < group ? y[g.off + j] : 0.0f;
      zv[i] = j < group ? g.z[j] : 0.0f;
      dv[i] = j < group ? dout[g.off + j] : 0.0f;
    }
    double dot = 0;
#pragma unroll
    for (int i = 0; i < kHeld; ++i)
      if (t0 + i * step < group) dot += double(gated_input(yv[i], zv[i], order)) * du_of(dv[i], t0 + i * step, zv[i]);
    const float k = scale(dot);
#pragma unroll
    for (int i = 0; i < kHeld; ++i)
      if (t0 + i * step < group) write(t0 + i * step, yv[i], zv[i], dv[i], k);
    return;
  }
  double dot = 0;
  for (int64_t j = t0; j < group; j += step)
    dot += double(gated_input(y[g.off + j], g.z[j], order)) * du_of(dout[g.off + j], j, g.z[j]);
  const float k = scale(dot);
  for (int64_t j = t0; j < group; j += step) write(j, y[g.off + j], g.z[j], dout[g.off + j], k);
}

template <typename T>
void gated_rmsnorm_forward_into(const float* y, const float* z, int64_t ldz, const float* w, int64_t n, int64_t d,
                                int64_t group, float eps, GateOrder order, T* out, float* rstd) {
  if (order == GateOrder::GateOnly)
    return for_each_cell(
        n, d, [=] __device__(int64_t i, int64_t j) { store(out + i * d + j, y[i * d + j] * silu(z[i * ldz + j])); },
        "gated_rmsnorm_forward");
  const int64_t groups = d / group, rows = n * groups;
  if (rows == 0) return;
  with_row_unit(rows, group, [&](auto unit, dim3 grid, dim3 block) {
    launch_dependent(gated_norm_forward<T, decltype(unit)>, grid, block, 0, "gated_rmsnorm_forward", y, z, ldz, w, rows,
                     group, groups, eps, order, out, rstd);
  });
}

// The norm kernels over n rows of d, each on the unit that fits its length.
template <typename T>
void norm_forward(const float* x, RowLayout x_rows, int64_t n, const float* w, int64_t d, double div, float eps,
                  Copies copies, T* y, float* r, const char* name) {
  if (n == 0) return;
  with_row_unit(n, d, [&](auto unit, dim3 grid, dim3 block) {
    with_copies(copies, [&](auto copied) {
      launch_dependent(norm_rows_forward<decltype(copied)::value, T, decltype(unit)>, grid, block, 0, name, x, x_rows,
                       n, w, d, div, eps, copies, y, r);
    });
  });
}

void norm_backward(const float* x, RowLayout x_rows, int64_t n, const float* w, const float* r, const float* dy,
                   Copies copies, int64_t d, double div, float* dx, RowLayout dx_rows, bool accumulate,
                   const char* name) {
  if (n == 0) return;
  with_row_unit(n, d, [&](auto unit, dim3 grid, dim3 block) {
    with_copies(copies, [&](auto copied) {
      norm_rows_backward<decltype(copied)::value, decltype(unit)>
          <<<grid, block, 0, stream()>>>(x, x_rows, n, w, r, dy, copies, d, div, dx, dx_rows, accumulate);
    });
  });
  check_launch(name);
}

}  // namespace

void rmsnorm_forward(const float* x, const float* w, int64_t n, int64_t d, float eps, Output y, float* rstd) {
  with_output(y, [&](auto* p) {
    norm_forward(x, {1, d}, n, w, d, double(d), eps, {1, 1.0f}, p, rstd, "rmsnorm_forward");
  });
}

void rmsnorm_backward(const float* x, const float* w, const float* rstd, const float* dy, int64_t n, int64_t d,
                      float* dx, bool accumulate) {
  norm_backward(x, {1, d}, n, w, rstd, dy, {1, 1.0f}, d, double(d), dx, {1, d}, accumulate, "rmsnorm_backward");
}

void l2norm_forward(const float* x, int64_t per_line, int64_t ldx, int64_t n, int64_t d, float eps, float* y,
                    float* rnorm, int64_t copies, float scale) {
  norm_forward(x, {per_line, ldx}, n, static_cast<const float*>(nullptr), d, 1.0, eps, {copies, scale}, y, rnorm,
               "l2norm_forward");
}

void l2norm_backward(const float* x, int64_t per_line, int64_t ldx, const float* rnorm, const float* dy, int64_t n,
                     int64_t d, float* dx, int64_t lddx, int64_t copies, float scale) {
  norm_backward(x, {per_line, ldx}, n, nullptr, rnorm, dy, {copies, scale}, d, 1.0, dx, {per_line, lddx}, false,
                "l2norm_backward");
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
  const int64_t groups = d / group, rows = n * groups;
  if (rows == 0) return;
  with_row_unit(rows, group, [&](auto unit, dim3 grid, dim3 block) {
    gated_norm_backward<decltype(unit)><<<grid, block, 0, stream()>>>(y, z, ldz, w, rstd, dout, rows, group, groups,
                                                                      order, dy, dz, lddz);
  });
  check_launch("gated_rmsnorm_backward");
}

}  // namespace s0::ops::cuda
