#include "ops/cuda/moe.h"

#include "ops/cuda/block_reduce.cuh"
#include "ops/cuda/cells.cuh"
#include "ops/cuda/check.h"
#include "ops/cuda/pointwise.cuh"
#include "ops/cuda/stream.h"
#include "ops/sigmoid_router_grad.h"

namespace s0::ops::cuda {

namespace {

// One thread per row, in double as the CPU: the softmax, then the picks in decreasing order of
// (probability, -index), each the best of the experts that order after the previous pick (so equal
// probabilities go to the lower index first, as on the CPU and in torch.topk).
__global__ void route_rows(const float* logits, int64_t N, int64_t E, int64_t k, bool normalize, float* probs,
                           int64_t* experts, float* weights) {
  const int64_t t = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (t >= N) return;
  const float* l = logits + t * E;
  double top = l[0], sum = 0;
  for (int64_t e = 1; e < E; ++e) top = fmax(top, double(l[e]));
  for (int64_t e = 0; e < E; ++e) sum += exp(double(l[e]) - top);
  for (int64_t e = 0; e < E; ++e) probs[t * E + e] = static_cast<float>(exp(double(l[e]) - top) / sum);
  double prev = 0, chosen = 0;
  int64_t prev_e = -1;
  for (int64_t j = 0; j < k; ++j) {
    int64_t best = -1;
    double best_p = 0;
    for (int64_t e = 0; e < E; ++e) {
      const double p = exp(double(l[e]) - top) / sum;
      const bool after_prev = prev_e < 0 || p < prev || (p == prev && e > prev_e);
      if (after_prev && (best < 0 || p > best_p)) {
        best = e;
        best_p = p;
      }
    }
    experts[t * k + j] = best;
    weights[t * k + j] = static_cast<float>(best_p);
    chosen += best_p;
    prev = best_p;
    prev_e = best;
  }
  if (normalize)
    for (int64_t j = 0; j < k; ++j) {
      const double p = exp(double(l[experts[t * k + j]]) - top) / sum;
      weights[t * k + j] = static_cast<float>(p / chosen);
    }
}

// One thread per row (k is small): ops/cpu/moe.cpp's route_top_k_backward.
__global__ void route_rows_backward(const float* probs, const int64_t* experts, const float* weights,
                                    const float* d_weights, int64_t N, int64_t E, int64_t k, bool normalize,
                                    float* d_logits) {
  const int64_t t = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (t >= N) return;
  const float* p = probs + t * E;
  const int64_t* ex = experts + t * k;
  const float* w = weights + t * k;
  const float* dw = d_weights + t * k;
  double wdw = 0, Z = 0, pdp = 0;
  for (int64_t j = 0; j < k; ++j) {
    wdw += double(w[j]) * dw[j];
    Z += p[ex[j]];
  }
  for (int64_t j = 0; j < k; ++j) pdp += p[ex[j]] * (normalize ? (dw[j] - wdw) / Z : double(dw[j]));
  float* dl = d_logits + t * E;
  for (int64_t e = 0; e < E; ++e) dl[e] = static_cast<float>(-p[e] * pdp);
  for (int64_t j = 0; j < k; ++j) {
    const double dp = normalize ? (dw[j] - wdw) / Z : double(dw[j]);
    dl[ex[j]] = static_cast<float>(p[ex[j]] * (dp - pdp));
  }
}

// Whether (v, i) orders after (prev, prev_i) in decreasing value, equal values by increasing index:
// the picks of a repeated maximum, made without a per-row list of what was taken.
__device__ bool orders_after(double v, int64_t i, double prev, int64_t prev_i) {
  return prev_i < 0 || v < prev || (v == prev && i > prev_i);
}

__device__ double corrected_score(const float* l, const float* bias, int64_t e) {
  return 1.0 / (1.0 + exp(-double(l[e]))) + double(bias[e]);
}

// One thread per row, in double as the CPU (ops/cpu/moe.cpp's route_sigmoid_grouped): the kept
// groups as a bit mask, each group's score (its two best corrected scores) recomputed where needed.
__global__ void route_sigmoid_rows(const float* logits, const float* bias, int64_t N, int64_t E, int64_t k,
                                   bool normalize, int64_t n_group, int64_t topk_group, double scale, float* scores,
                                   int64_t* experts, float* weights) {
  const int64_t t = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (t >= N) return;
  const float* l = logits + t * E;
  const int64_t per_group = E / n_group;
  for (int64_t e = 0; e < E; ++e) scores[t * E + e] = static_cast<float>(1.0 / (1.0 + exp(-double(l[e]))));
  auto group_score = [&](int64_t g) {
    double first = -INFINITY, second = -INFINITY;
    for (int64_t e = g * per_group; e < (g + 1) * per_group; ++e) {
      const double c = corrected_score(l, bias, e);
      if (c > first) {
        second = first;
        first = c;
      } else if (c > second) {
        second = c;
      }
    }
    return first + second;
  };
  uint64_t kept = 0;
  double prev = 0;
  int64_t prev_g = -1;
  for (int64_t j = 0; j < topk_group; ++j) {
    int64_t best = -1;
    double best_v = 0;
    for (int64_t g = 0; g < n_group; ++g) {
      const double v = group_score(g);
      if (orders_after(v, g, prev, prev_g) && (best < 0 || v > best_v)) {
        best = g;
        best_v = v;
      }
    }
    kept |= uint64_t{1} << best;
    prev = best_v;
    prev_g = best;
  }
  int64_t prev_e = -1;
  double chosen = 0;
  for (int64_t j = 0; j < k; ++j) {
    int64_t best = -1;
    double best_v = 0;
    for (int64_t e = 0; e < E; ++e) {
      if (!((kept >> (e / per_group)) & 1)) continue;
      const double v = corrected_score(l, bias, e);
      if (orders_after(v, e, prev, prev_e) && (best < 0 || v > best_v)) {
        best = e;
        best_v = v;
      }
    }
    experts[t * k + j] = best;
    chosen += 1.0 / (1.0 + exp(-double(l[best])));
    prev = best_v;
    prev_e = best;
  }
  for (int64_t j = 0; j < k; ++j) {
    const double s = 1.0 / (1.0 + exp(-double(l[experts[t * k + j]])));
    weights[t * k + j] = static_cast<float>((normalize ? s / (chosen + 1e-20) : s) * scale);
  }
}

// One thread per row: ops/sigmoid_router_grad.h, as on the CPU.
__global__ void route_sigmoid_rows_backward(const float* scores, const int64_t* experts, const float* weights,
                                            const float* d_weights, int64_t N, int64_t E, int64_t k, bool normalize,
                                            double scale, float* d_logits) {
  const int64_t t = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (t >= N) return;
  sigmoid_router_row_grad(scores + t * E, experts + t * k, weights + t * k, d_weights + t * k, E, k, normalize, scale,
                          d_logits + t * E);
}

// Block i owns row i: dy = w * d_out[rows[i]], d_weights[slots[i]] = d_out[rows[i]] . y[i].
__global__ void weighted_rows_backward(const float* y, const int64_t* rows, const float* weights, const int64_t* slots,
                                       const float* d_out, int64_t d, float* dy, float* d_weights) {
  const int64_t i = blockIdx.x;
  const float w = weights[slots[i]];
  const float* g = d_out + rows[i] * d;
  double dot = 0;
  for (int64_t c = threadIdx.x; c < d; c += blockDim.x) {
    dy[i * d + c] = w * g[c];
    dot += double(g[c]) * y[i * d + c];
  }
  dot = block_sum(dot);
  if (threadIdx.x == 0) d_weights[slots[i]] = static_cast<float>(dot);
}

// Block t owns row t: dy = s * d_out, dgate = s (1 - s) d_out . y, s = sigmoid(gate[t]).
__global__ void row_gate_backward(const float* y, const float* gate, const float* d_out, int64_t d, float* dy,
                                  float* dgate) {
  const int64_t t = blockIdx.x;
  const double s = sigmoid(gate[t]);
  double dot = 0;
  for (int64_t c = threadIdx.x; c < d; c += blockDim.x) {
    dy[t * d + c] = static_cast<float>(s * d_out[t * d + c]);
    dot += double(d_out[t * d + c]) * y[t * d + c];
  }
  dot = block_sum(dot);
  if (threadIdx.x == 0) dgate[t] = static_cast<float>(dot * s * (1.0 - s));
}

unsigned row_blocks(int64_t n) { return static_cast<unsigned>((n + 127) / 128); }

}  // namespace

void route_top_k(const float* logits, int64_t N, int64_t E, int64_t k, bool normalize, float* probs, int64_t* experts,
                 float* weights) {
  if (N == 0) return;
  route_rows<<<row_blocks(N), 128, 0, stream()>>>(logits, N, E, k, normalize, probs, experts, weights);
  check_launch("route_top_k");
}

void route_top_k_backward(const float* probs, const int64_t* experts, const float* weights, const float* d_weights,
                          int64_t N, int64_t E, int64_t k, bool normalize, float* d_logits) {
  if (N == 0) return;
  route_rows_backward<<<row_blocks(N), 128, 0, stream()>>>(probs, experts, weights, d_weights, N, E, k, normalize,
                                                           d_logits);
  check_launch("route_top_k_backward");
}

void route_sigmoid_grouped(const float* logits, const float* bias, int64_t N, int64_t E, int64_t k, bool normalize,
                           int64_t n_group, int64_t topk_group, double scale, float* scores, int64_t* experts,
                           float* weights) {
  if (N == 0) return;
  route_sigmoid_rows<<<row_blocks(N), 128, 0, stream()>>>(logits, bias, N, E, k, normalize, n_group, topk_group,
                                                          scale, scores, experts, weights);
  check_launch("route_sigmoid_grouped");
}

void route_sigmoid_backward(const float* scores, const int64_t* experts, const float* weights, const float* d_weights,
                            int64_t N, int64_t E, int64_t k, bool normalize, double scale, float* d_logits) {
  if (N == 0) return;
  route_sigmoid_rows_backward<<<row_blocks(N), 128, 0, stream()>>>(scores, experts, weights, d_weights, N, E, k,
                                                                   normalize, scale, d_logits);
  check_launch("route_sigmoid_backward");
}

void weighted_rows_add(const float* y, const int64_t* rows, const float* weights, const int64_t* slots, int64_t n,
                       int64_t d, float* out) {
  // Rows are distinct, so no two cells write the same element.
  for_each_cell(
      n, d, [=] __device__(int64_t i, int64_t c) { out[rows[i] * d + c] += weights[slots[i]] * y[i * d + c]; },
      "weighted_rows_add");
}

void weighted_rows_add_backward(const float* y, const int64_t* rows, const float* weights, const int64_t* slots,
                                const float* d_out, int64_t n, int64_t d, float* dy, float* d_weights) {
  if (n == 0) return;
  weighted_rows_backward<<<static_cast<unsigned>(n), row_threads(d), 0, stream()>>>(
      y, rows, weights, slots, d_out, d, dy, d_weights);
  check_launch("weighted_rows_add_backward");
}

void sigmoid_row_gate(const float* y, const float* gate, int64_t N, int64_t d, float* out) {
  for_each_cell(
      N, d, [=] __device__(int64_t t, int64_t c) { out[t * d + c] += sigmoid(gate[t]) * y[t * d + c]; },
      "sigmoid_row_gate");
}

void sigmoid_row_gate_backward(const float* y, const float* gate, const float* d_out, int64_t N, int64_t d, float* dy,
                               float* dgate) {
  if (N == 0) return;
  row_gate_backward<<<static_cast<unsigned>(N), row_threads(d), 0, stream()>>>(y, gate, d_out, d, dy, dgate);
  check_launch("sigmoid_row_gate_backward");
}

}  // namespace s0::ops::cuda
