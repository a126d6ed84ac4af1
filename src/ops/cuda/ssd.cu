#include "ops/cuda/ssd.h"

#include "ops/cuda/device_args.h"
#include "ops/cuda/tensor_args.h"
#include "ops/cuda/recurrence_sweep.cuh"
#include "ops/cuda/stream.h"

namespace s0::ops::cuda {

namespace {

// Per head the state S[P, Ns], kept transposed as [Ns][P] (R = Ns rows, W = P columns) so that the
// thread of row p of S walks its own column:
//   S = exp(dt A) S + dt x B^T;  y = S C + D x;  B and C shared by the H / G heads of a group.
struct SsdRule {
  int64_t H, R, W, G;
  const float *x, *dt, *A, *B, *C, *D, *d_y;
  float *y, *dx, *ddt;
  float *dB_heads, *dC_heads;  // [rows, H, Ns]: each head's share, summed per group afterwards

  __device__ int64_t external(int64_t r, int64_t w) const { return w * R + r; }
  __device__ int64_t group_row(int64_t row, int64_t h) const { return (row * G + h / (H / G)) * R; }

  __device__ void advance(const float* prev, float* next, int64_t row, int64_t h, int64_t p, bool emit) const {
    const int64_t at = row * H + h;
    const float step = dt[at], decay = expf(step * A[h]), u = step * x[at * W + p];
    const float *Bt = B + group_row(row, h), *Ct = C + group_row(row, h);
    float out = 0.0f;
    for (int64_t n = 0; n < R; ++n) {
      const float s = decay * prev[n * W + p] + u * Bt[n];
      next[n * W + p] = s;
      out += s * Ct[n];
    }
    if (emit) y[at * W + p] = out + D[h] * x[at * W + p];
  }

  // shared: per-column shares of ddt[W].
  __device__ void backward_token(const float* prev, float* dS, int64_t row, int64_t h, float* shared) const {
    const int64_t at = row * H + h;
    const float step = dt[at], a = A[h], decay = expf(step * a);
    const float *Bt = B + group_row(row, h), *Ct = C + group_row(row, h), *xt = x + at * W, *dyt = d_y + at * W;
    // Per column p: dS += C dy^T (y = S C), then dx and this column's share of ddt, whose decay
    // part A exp(dt A) S_prev carries the token's own factor.
    for (int64_t p = threadIdx.x; p < W; p += blockDim.x) {
      float through_B = 0.0f, share = 0.0f;
      for (int64_t n = 0; n < R; ++n) {
        const float ds = dS[n * W + p] + dyt[p] * Ct[n];
        dS[n * W + p] = ds;
        through_B += ds * Bt[n];
        share += ds * (xt[p] * Bt[n] + a * decay * prev[n * W + p]);
      }
      dx[at * W + p] = D[h] * dyt[p] + step * through_B;
      shared[p] = share;
    }
    __syncthreads();
    // Per row n: this head's share of dB (from dt x B^T) and dC (from the read-out of S after the token).
    for (int64_t n = threadIdx.x; n < R; n += blockDim.x) {
      float db = 0.0f, dc = 0.0f;
      for (int64_t p = 0; p < W; ++p) {
        db += dS[n * W + p] * step * xt[p];
        dc += (decay * prev[n * W + p] + step * xt[p] * Bt[n]) * dyt[p];
      }
      dB_heads[at * R + n] = db;
      dC_heads[at * R + n] = dc;
    }
    if (threadIdx.x == 0) {
      float sum = 0.0f;
      for (int64_t p = 0; p < W; ++p) sum += shared[p];
      ddt[at] = sum;
    }
    __syncthreads();
    for (int64_t p = threadIdx.x; p < W; p += blockDim.x)
      for (int64_t n = 0; n < R; ++n) dS[n * W + p] *= decay;
  }
};

// dB[row, g] = the sum of its heads' shares, heads in ascending order (a fixed order: no atomics).
__global__ void sum_group_heads_kernel(const float* heads, int64_t rows, int64_t H, int64_t G, int64_t Ns, float* out) {
  const int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (e >= rows * G * Ns) return;
  const int64_t n = e % Ns, grp = (e / Ns) % G, row = e / (G * Ns), per_group = H / G;
  float sum = 0.0f;
  for (int64_t h = grp * per_group; h < (grp + 1) * per_group; ++h) sum += heads[(row * H + h) * Ns + n];
  out[e] = sum;
}

void sum_group_heads(const Tensor& heads, int64_t rows, int64_t H, int64_t G, int64_t Ns, Tensor& out) {
  const int64_t n = rows * G * Ns;
  if (n == 0) return;
  sum_group_heads_kernel<<<static_cast<unsigned>((n + 255) / 256), 256, 0, stream()>>>(
      f32(heads), rows, H, G, Ns, f32_mut(out));
  check_launch("sum_group_heads_kernel");
}

}  // namespace

void ssd_forward(const Tensor& x, const Tensor& dt, const Tensor& A, const Tensor& B, const Tensor& C,
                 const Tensor& D, const Varlen& seqs, const std::vector<SequenceStart>& starts, Tensor& y,
                 std::vector<Tensor>* finals) {
  const int64_t H = x.dim(1), P = x.dim(2), G = B.dim(1), Ns = B.dim(2);
  RecurrenceTables tables = forward_tables(seqs, starts, {H, P, Ns}, finals != nullptr, x.device());
  SsdRule rule{H, Ns, P, G, f32(x), f32(dt), f32(A), f32(B),
               f32(C), f32(D), nullptr, f32_mut(y), nullptr, nullptr, nullptr, nullptr};
  run_recurrence_forward(rule, tables, x.device());
  hand_over_finals(tables, starts, finals);
}

void ssd_backward(const Tensor& x, const Tensor& dt, const Tensor& A, const Tensor& B, const Tensor& C,
                  const Tensor& D, const Varlen& seqs, const std::vector<SequenceStart>& starts, const Tensor& d_y,
                  Tensor& dx, Tensor& ddt, Tensor& dB, Tensor& dC, std::vector<Tensor>* d_initial) {
  const char* op = "ssd_backward";
  const int64_t H = x.dim(1), P = x.dim(2), G = B.dim(1), Ns = B.dim(2), rows = seqs.rows();
  RecurrenceTables tables = backward_tables(seqs, starts, {H, P, Ns}, d_initial != nullptr, x.device(), op);
  Tensor dB_heads = Tensor::empty({rows, H, Ns}, DType::F32, x.device());
  Tensor dC_heads = Tensor::empty({rows, H, Ns}, DType::F32, x.device());
  SsdRule rule{H, Ns, P, G, f32(x), f32(dt), f32(A), f32(B),
               f32(C), f32(D), f32(d_y), nullptr, f32_mut(dx),
               f32_mut(ddt), f32_mut(dB_heads), f32_mut(dC_heads)};
  run_recurrence_backward(rule, tables, x.device(), P);
  sum_group_heads(dB_heads, rows, H, G, Ns, dB);
  sum_group_heads(dC_heads, rows, H, G, Ns, dC);
  if (d_initial) *d_initial = tables.out_states;
}

}  // namespace s0::ops::cuda
