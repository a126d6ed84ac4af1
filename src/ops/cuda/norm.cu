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
// Row indices and per_line fit 32 bits (with_row_unit checks), so the division is a 32-bit one: a
// 64-bit division is a long software sequence, and a norm's rows are short.
struct RowLayout {
  int64_t per_line, ld;
  __device__ int64_t offset(int64_t b, int64_t len) const {
    const unsigned row = static_cast<unsigned>(b), per = static_cast<unsigned>(per_line);
    return static_cast<int64_t>(row / per) * ld + static_cast<int64_t>(row % per) * len;
  }
};

// RMS and L2 norms are one computation, u = x * r, r = (sum(x^2) / div + eps)^(-1/2), with
// div = len for RMS and 1 for L2; y = u * w (w null: no weight). Unit u owns row u.row() of n and
// each of its threads holds its elements of it (ops/cuda/block_reduce.cuh), read before any is
// written, so y may be x. The sum keeps the order of the held elements, then the unit's tree.
// Copies: each normalised row is written to `copies` consecutive rows of y, times `scale`
// (GatedDeltaNet's key heads expanded to its value heads, ops/heads.h). Kernels without them
// (kCopies false: one copy, scale 1) are a separate instance with no copy loop: with a run-time
// loop around each access, the RMS norm's backward over 2560-wide rows took a third longer
// (H100, ncu).
struct Copies {
  int64_t count;
  float scale;
};

// Element j of a normalised row, into each of its copies (rows len apart from yi).
template <bool kCopies, typename T>
__device__ void store_copies(T* yi, int j, int len, float normed, Copies copies) {
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

template <bool kCopies, typename T, typename Unit>
__global__ void norm_rows_forward(const float* x, RowLayout x_rows, int64_t n, const float* w, int len, double div,
                                  float eps, Copies copies, T* y, float* r_out) {
  allow_dependents();  // the projection after a norm may start loading its weights
  wait_for_predecessors();  // launched as a dependent itself (decode steps: its launch overlaps the kernel before)
  const Unit u;
  const int64_t b = u.row();
  if (b >= n) return;
  const float* xi = x + x_rows.offset(b, len);
  T* yi = y + b * copies.count * len;
  // The weights load with the row (one trip to memory: a decode step's norm of one row waits on each).
  float v[Unit::kHeld] = {}, wk[Unit::kHeld] = {};
  for_held(u, len, [&](int k, int j) {
    v[k] = xi[j];
    wk[k] = w ? w[j] : 1.0f;
  });
  double ss = 0;
  for_held(u, len, [&](int k, int) { ss += double(v[k]) * v[k]; });
  const float r = static_cast<float>(1.0 / sqrt(u.sum(ss) / div + eps));
  if (r_out && u.thread() == 0) r_out[b] = r;
  for_held(u, len, [&](int k, int j) { store_copies<kCopies>(yi, j, len, w ? v[k] * r * wk[k] : v[k] * r, copies); });
}

// dx = r du - x (c r^3 sum(x du)), du = dy * w, c = 1 / div (ops/cpu/norm.h's norm_row_backward).
// x and dx: rows laid out as x_rows and dx_rows; dy contiguous, and with copies, dy's row is the
// sum of its copies' rows times the scale, added in copy order (ops/cpu/heads.h's reduce_heads).
// A warp's thread holds its x and du from the sum to the store; a block's loops over its row twice.
// dx16 (rows of len side by side), when set, receives each written dx entry rounded to bf16: the
// operand a GEMM reading the residual stream's gradient would round it to.
template <bool kCopies, typename Unit>
__global__ void norm_rows_backward(const float* x, RowLayout x_rows, int64_t n, const float* w, const float* r_saved,
                                   const float* dy, Copies copies, int len, double div, float* dx,
                                   RowLayout dx_rows, bool accumulate, __nv_bfloat16* dx16) {
  const Unit u;
  const int64_t b = u.row();
  if (b >= n) return;
  const float* dyi = dy + b * copies.count * len;
  const float* xi = x + x_rows.offset(b, len);
  float* dxi = dx + dx_rows.offset(b, len);
  auto dy_of = [&](int j) {
    if constexpr (!kCopies) return dyi[j];
    float acc = 0.0f;
    for (int64_t c = 0; c < copies.count; ++c) acc += dyi[c * len + j] * copies.scale;
    return acc;
  };
  auto du_of = [&](int j) { return w ? dy_of(j) * w[j] : dy_of(j); };
  const float r = r_saved[b];
  auto scale = [&](double dot) { return static_cast<float>(double(r) * r * r * u.sum(dot) / div); };
  __nv_bfloat16* dx16i = dx16 ? dx16 + b * len : nullptr;
  auto write = [&](int j, float x, float du, float c) {
    const float g = r * du - x * c;
    const float v = accumulate ? dxi[j] + g : g;
    dxi[j] = v;
    if (dx16i) dx16i[j] = __float2bfloat16_rn(v);
  };
  if constexpr (is_block_row<Unit>) {
    double dot = 0;
    for (int j = u.thread(); j < len; j += u.threads()) dot += double(xi[j]) * du_of(j);
    const float c = scale(dot);
    for (int j = u.thread(); j < len; j += u.threads()) write(j, xi[j], du_of(j), c);
    return;
  }
  float xv[Unit::kHeld] = {}, duv[Unit::kHeld] = {};
  for_held(u, len, [&](int k, int j) {
    xv[k] = xi[j];
    duv[k] = du_of(j);
  });
  double dot = 0;
  for_held(u, len, [&](int k, int) { dot += double(xv[k]) * duv[k]; });
  const float c = scale(dot);
  for_held(u, len, [&](int k, int j) { write(j, xv[k], duv[k], c); });
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

// The thread's y, z and weights of its group, held from the sum to the store.
template <typename T, typename Unit>
__global__ void gated_norm_forward(const float* y, const float* z, int64_t ldz, const float* w, int64_t n, int group,
                                   int64_t groups, float eps, GateOrder order, T* out, float* rstd) {
  allow_dependents();  // the output projection may start loading its weights
  wait_for_predecessors();  // launched as a dependent itself
  const Unit u;
  const int64_t b = u.row();
  if (b >= n) return;
  const GatedGroup g(b, z, ldz, w, group, groups);
  const float* yg = y + g.off;
  float a[Unit::kHeld] = {}, zv[Unit::kHeld] = {}, wk[Unit::kHeld] = {};
  for_held(u, group, [&](int k, int j) {
    zv[k] = g.z[j];
    a[k] = gated_input(yg[j], zv[k], order);
    wk[k] = g.w[j];
  });
  double ss = 0;
  for_held(u, group, [&](int k, int) { ss += double(a[k]) * a[k]; });
  const float r = static_cast<float>(1.0 / sqrt(u.sum(ss) / double(group) + eps));
  if (rstd && u.thread() == 0) rstd[b] = r;
  for_held(u, group, [&](int k, int j) {
    store(out + g.off + j, order == GateOrder::GateThenNorm ? a[k] * r * wk[k] : a[k] * r * wk[k] * silu(zv[k]));
  });
}

// GateThenNorm: out = norm(a) w, a = y silu(z): du = dout w, da from the norm, then dy and dz from a.
// NormThenGate: out = norm(y) w silu(z): du = dout w silu(z), dy from the norm, dz directly.
// z and dz: rows ldz and lddz apart, as in the forward. A warp's thread holds its y, z and dout
// from the sum to the stores; a block's loops over its group twice.
template <typename Unit, typename T>
__global__ void gated_norm_backward(const float* y, const float* z, int64_t ldz, const float* w, const float* rstd,
                                    const float* dout, int64_t n, int group, int64_t groups, GateOrder order,
                                    float* dy, T* dz, int64_t lddz) {
  const Unit u;
  const int64_t b = u.row();
  if (b >= n) return;
  const GatedGroup g(b, z, ldz, w, group, groups);
  T* dzg = dz + RowLayout{groups, lddz}.offset(b, group);
  const bool gate_first = order == GateOrder::GateThenNorm;
  auto du_of = [&](float doutj, int j, float zj) { return gate_first ? doutj * g.w[j] : doutj * g.w[j] * silu(zj); };
  const float r = rstd[b];
  auto scale = [&](double dot) { return static_cast<float>(double(r) * r * r * u.sum(dot) / double(group)); };
  auto write = [&](int j, float yj, float zj, float doutj, float c) {
    const float dnorm = r * du_of(doutj, j, zj) - gated_input(yj, zj, order) * c;
    if (gate_first) {
      store(dzg + j, dnorm * yj * silu_grad(zj));
      dy[g.off + j] = dnorm * silu(zj);
    } else {
      store(dzg + j, doutj * yj * r * g.w[j] * silu_grad(zj));
      dy[g.off + j] = dnorm;
    }
  };
  if constexpr (is_block_row<Unit>) {
    double dot = 0;
    for (int j = u.thread(); j < group; j += u.threads())
      dot += double(gated_input(y[g.off + j], g.z[j], order)) * du_of(dout[g.off + j], j, g.z[j]);
    const float c = scale(dot);
    for (int j = u.thread(); j < group; j += u.threads()) write(j, y[g.off + j], g.z[j], dout[g.off + j], c);
    return;
  }
  float yv[Unit::kHeld] = {}, zv[Unit::kHeld] = {}, dv[Unit::kHeld] = {};
  for_held(u, group, [&](int k, int j) {
    yv[k] = y[g.off + j];
    zv[k] = g.z[j];
    dv[k] = dout[g.off + j];
  });
  double dot = 0;
  for_held(u, group,
           [&](int k, int j) { dot += double(gated_input(yv[k], zv[k], order)) * du_of(dv[k], j, zv[k]); });
  const float c = scale(dot);
  for_held(u, group, [&](int k, int j) { write(j, yv[k], zv[k], dv[k], c); });
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
                     static_cast<int>(group), groups, eps, order, out, rstd);
  });
}

// The norm kernels over n rows of d, each on the unit that holds its length (d then fits an int).
template <typename T>
void norm_forward(const float* x, RowLayout x_rows, int64_t n, const float* w, int64_t d, double div, float eps,
                  Copies copies, T* y, float* r, const char* name) {
  if (n == 0) return;
  with_row_unit(n, d, [&](auto unit, dim3 grid, dim3 block) {
    with_copies(copies, [&](auto copied) {
      launch_dependent(norm_rows_forward<decltype(copied)::value, T, decltype(unit)>, grid, block, 0, name, x, x_rows,
                       n, w, static_cast<int>(d), div, eps, copies, y, r);
    });
  });
}

void norm_backward(const float* x, RowLayout x_rows, int64_t n, const float* w, const float* r, const float* dy,
                   Copies copies, int64_t d, double div, float* dx, RowLayout dx_rows, bool accumulate,
                   __nv_bfloat16* dx16, const char* name) {
  if (n == 0) return;
  with_row_unit(n, d, [&](auto unit, dim3 grid, dim3 block) {
    with_copies(copies, [&](auto copied) {
      norm_rows_backward<decltype(copied)::value, decltype(unit)>
          <<<grid, block, 0, stream()>>>(x, x_rows, n, w, r, dy, copies, static_cast<int>(d), div, dx, dx_rows,
                                         accumulate, dx16);
    });
  }, BlockRowLoop::yes);
  check_launch(name);
}

template <typename T>
void gated_rmsnorm_backward_into(const float* y, const float* z, int64_t ldz, const float* w, const float* rstd,
                                 const float* dout, int64_t n, int64_t d, int64_t group, GateOrder order, float* dy,
                                 T* dz, int64_t lddz) {
  if (order == GateOrder::GateOnly)
    return for_each_cell(
        n, d,
        [=] __device__(int64_t i, int64_t j) {
          const int64_t k = i * d + j;
          const float g = dout[k], zk = z[i * ldz + j], yk = y[k];
          dy[k] = g * silu(zk);
          store(dz + i * lddz + j, g * yk * silu_grad(zk));
        },
        "gated_rmsnorm_backward");
  const int64_t groups = d / group, rows = n * groups;
  if (rows == 0) return;
  with_row_unit(rows, group, [&](auto unit, dim3 grid, dim3 block) {
    gated_norm_backward<decltype(unit), T><<<grid, block, 0, stream()>>>(y, z, ldz, w, rstd, dout, rows,
                                                                         static_cast<int>(group), groups, order, dy,
                                                                         dz, lddz);
  }, BlockRowLoop::yes);
  check_launch("gated_rmsnorm_backward");
}

}  // namespace

void rmsnorm_forward(const float* x, const float* w, int64_t n, int64_t d, float eps, Output y, float* rstd) {
  with_output(y, [&](auto* p) {
    norm_forward(x, {1, d}, n, w, d, double(d), eps, {1, 1.0f}, p, rstd, "rmsnorm_forward");
  });
}

void rmsnorm_backward(const float* x, int64_t per_line, int64_t ldx, const float* w, const float* rstd, const float* dy,
                      int64_t n, int64_t d, float* dx, int64_t lddx, bool accumulate, void* dx16) {
  norm_backward(x, {per_line, ldx}, n, w, rstd, dy, {1, 1.0f}, d, double(d), dx, {per_line, lddx}, accumulate,
                static_cast<__nv_bfloat16*>(dx16), "rmsnorm_backward");
}

void l2norm_forward(const float* x, int64_t per_line, int64_t ldx, int64_t n, int64_t d, float eps, float* y,
                    float* rnorm, int64_t copies, float scale) {
  norm_forward(x, {per_line, ldx}, n, static_cast<const float*>(nullptr), d, 1.0, eps, {copies, scale}, y, rnorm,
               "l2norm_forward");
}

void l2norm_backward(const float* x, int64_t per_line, int64_t ldx, const float* rnorm, const float* dy, int64_t n,
                     int64_t d, float* dx, int64_t lddx, int64_t copies, float scale) {
  norm_backward(x, {per_line, ldx}, n, nullptr, rnorm, dy, {copies, scale}, d, 1.0, dx, {per_line, lddx}, false,
                nullptr, "l2norm_backward");
}

void gated_rmsnorm_forward(const float* y, const float* z, int64_t ldz, const float* w, int64_t n, int64_t d,
                           int64_t group, float eps, GateOrder order, Output out, float* rstd) {
  with_output(out, [&](auto* p) { gated_rmsnorm_forward_into(y, z, ldz, w, n, d, group, eps, order, p, rstd); });
}

void gated_rmsnorm_backward(const float* y, const float* z, int64_t ldz, const float* w, const float* rstd,
                            const float* dout, int64_t n, int64_t d, int64_t group, GateOrder order, float* dy,
                            Output dz, int64_t lddz) {
  with_output(dz, [&](auto* p) { gated_rmsnorm_backward_into(y, z, ldz, w, rstd, dout, n, d, group, order, dy, p, lddz); });
}

}  // namespace s0::ops::cuda
