#include "ops/cuda/gated_delta.h"

#include "ops/cuda/device_args.h"
#include "ops/cuda/tensor_args.h"
#include "ops/cuda/recurrence_sweep.cuh"

namespace s0::ops::cuda {

namespace {

// Per head the state S[dk, dv] (R = dk rows, W = dv columns, the layout of the state tensors):
//   S' = exp(g) S;  delta = beta (v - S'^T k);  S = S' + k delta^T;  o = S^T q.
struct GatedDeltaRule {
  int64_t H, R, W;
  const float *q, *k, *v, *g, *beta, *d_o;
  float *o, *dq, *dk, *dv, *dg, *dbeta;

  __device__ int64_t external(int64_t r, int64_t w) const { return r * W + w; }

  __device__ void advance(const float* prev, float* next, int64_t row, int64_t h, int64_t w, bool emit) const {
    const int64_t at = row * H + h;
    const float* kt = k + at * R;
    const float decay = expf(g[at]);
    float kv = 0.0f;
    for (int64_t i = 0; i < R; ++i) kv += decay * prev[i * W + w] * kt[i];
    const float delta = beta[at] * (v[at * W + w] - kv);
    const float* qt = q + at * R;
    float out = 0.0f;
    for (int64_t i = 0; i < R; ++i) {
      const float s = decay * prev[i * W + w] + kt[i] * delta;
      next[i * W + w] = s;
      out += s * qt[i];
    }
    if (emit) o[at * W + w] = out;
  }

  // shared: delta[W], d_delta[W], and per-column shares of dbeta[W] and of dg[W] (apart, so that the
  // next token's dbeta shares never overwrite dg's before they are summed).
  __device__ void backward_token(const float* prev, float* dS, int64_t row, int64_t h, float* shared) const {
    const int64_t at = row * H + h;
    const float *qt = q + at * R, *kt = k + at * R, *vt = v + at * W, *dot = d_o + at * W;
    const float decay = expf(g[at]), b = beta[at];
    float *delta = shared, *d_delta = shared + W, *beta_share = shared + 2 * W, *g_share = shared + 3 * W;
    // Per column: the forward's delta, dS += q do^T (o = S^T q), d_delta = dS^T k, and the
    // column's share of dbeta; dv = beta d_delta.
    for (int64_t j = threadIdx.x; j < W; j += blockDim.x) {
      float kv = 0.0f, dd = 0.0f;
      for (int64_t i = 0; i < R; ++i) {
        kv += decay * prev[i * W + j] * kt[i];
        const float ds = dS[i * W + j] + qt[i] * dot[j];
        dS[i * W + j] = ds;
        dd += ds * kt[i];
      }
      delta[j] = b * (vt[j] - kv);
      d_delta[j] = dd;
      beta_share[j] = dd * (vt[j] - kv);
      dv[at * W + j] = b * dd;
    }
    __syncthreads();
    // Per row: dq = S q-side read-out, dk from S = S' + k delta^T and from delta's S'^T k.
    for (int64_t i = threadIdx.x; i < R; i += blockDim.x) {
      float dqi = 0.0f, dki = 0.0f, through_delta = 0.0f;
      for (int64_t j = 0; j < W; ++j) {
        const float decayed = decay * prev[i * W + j];
        dqi += (decayed + kt[i] * delta[j]) * dot[j];
        dki += dS[i * W + j] * delta[j];
        through_delta += decayed * d_delta[j];
      }
      dq[at * R + i] = dqi;
      dk[at * R + i] = dki - b * through_delta;
    }
    if (threadIdx.x == 0) {
      float sum = 0.0f;
      for (int64_t j = 0; j < W; ++j) sum += beta_share[j];
      dbeta[at] = sum;
    }
    __syncthreads();
    // Per column: dS' = dS - k beta d_delta^T; dg = <dS', S'> carries this token's decay; dS = exp(g) dS'.
    for (int64_t j = threadIdx.x; j < W; j += blockDim.x) {
      float dgj = 0.0f;
      for (int64_t i = 0; i < R; ++i) {
        const float ds = dS[i * W + j] - kt[i] * b * d_delta[j];
        dgj += ds * decay * prev[i * W + j];
        dS[i * W + j] = decay * ds;
      }
      g_share[j] = dgj;
    }
    __syncthreads();
    if (threadIdx.x == 0) {
      float sum = 0.0f;
      for (int64_t j = 0; j < W; ++j) sum += g_share[j];
      dg[at] = sum;
    }
  }
};

}  // namespace

void gated_delta_forward(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& g, const Tensor& beta,
                         const Varlen& seqs, const std::vector<SequenceStart>& starts, Tensor& o,
                         std::vector<Tensor>* finals) {
  const int64_t H = q.dim(1), dk = q.dim(2), dv = v.dim(2);
  RecurrenceTables tables = forward_tables(seqs, starts, {H, dk, dv}, finals != nullptr, q.device());
  GatedDeltaRule rule{H, dk, dv, f32(q), f32(k), f32(v), f32(g),
                      f32(beta), nullptr, f32_mut(o), nullptr, nullptr, nullptr, nullptr, nullptr};
  run_recurrence_forward(rule, tables, q.device());
  hand_over_finals(tables, starts, finals);
}

void gated_delta_backward(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& g, const Tensor& beta,
                          const Varlen& seqs, const std::vector<SequenceStart>& starts, const Tensor& d_o, Tensor& dq,
                          Tensor& dk, Tensor& dv, Tensor& dg, Tensor& dbeta, std::vector<Tensor>* d_initial) {
  const char* op = "gated_delta_backward";
  const int64_t H = q.dim(1), Dk = q.dim(2), Dv = v.dim(2);
  RecurrenceTables tables = backward_tables(seqs, starts, {H, Dk, Dv}, d_initial != nullptr, q.device(), op);
  GatedDeltaRule rule{H, Dk, Dv, f32(q), f32(k), f32(v), f32(g),
                      f32(beta), f32(d_o), nullptr, f32_mut(dq),
                      f32_mut(dk), f32_mut(dv), f32_mut(dg), f32_mut(dbeta)};
  run_recurrence_backward(rule, tables, q.device(), 4 * Dv);
  if (d_initial) *d_initial = tables.out_states;
}

}  // namespace s0::ops::cuda
