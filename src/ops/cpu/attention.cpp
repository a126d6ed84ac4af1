#include "ops/cpu/attention.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "ops/cpu/gemm.h"
#include "ops/cpu/thread_cache.h"

namespace s0::ops::cpu {

namespace {

// Tags of the per-thread score buffers (thread_cache.h): a sequence of 300 tokens needs 0.36 MB
// for each, made per key/value head and sequence when they were vectors.
struct Scores;
struct Probs;
struct DScores;

// One key/value head kh of one sequence and the query heads that read it (the whole functions run
// kh = 0, 1, ... in order).
void attention_forward_group(const float* q, const float* k, const float* v, int64_t T, int64_t past, int64_t H,
                             int64_t Hkv, int64_t D, float scale, int64_t kh, float* out, float* lse) {
  const int64_t rep = H / Hkv, Tk = past + T;
  float* const scores = thread_buffer<Scores>(static_cast<size_t>(T * Tk));
  for (int64_t h = kh * rep; h < (kh + 1) * rep; ++h) {
    // scores = scale * q_h k_kh^T, then a causal softmax per row.
    gemm(false, true, T, Tk, D, scale, q + h * D, H * D, k + kh * D, Hkv * D, 0.0f, scores, Tk);
#pragma omp parallel for schedule(static) if (T > 64)
    for (int64_t i = 0; i < T; ++i) {
      float* row = scores + i * Tk;
      const int64_t last = past + i;
      float mx = -std::numeric_limits<float>::infinity();
      for (int64_t j = 0; j <= last; ++j) mx = std::max(mx, row[j]);
      double sum = 0;
      for (int64_t j = 0; j <= last; ++j) {
        row[j] = std::exp(row[j] - mx);
        sum += row[j];
      }
      float inv = static_cast<float>(1.0 / sum);
      for (int64_t j = 0; j <= last; ++j) row[j] *= inv;
      for (int64_t j = last + 1; j < Tk; ++j) row[j] = 0.0f;
      if (lse) lse[h * T + i] = mx + static_cast<float>(std::log(sum));
    }
    gemm(false, false, T, D, Tk, 1.0f, scores, Tk, v + kh * D, Hkv * D, 0.0f, out + h * D, H * D);
  }
}

void attention_backward_group(const float* q, const float* k, const float* v, const float* out, const float* lse,
                              const float* dout, int64_t T, int64_t H, int64_t Hkv, int64_t D, float scale,
                              int64_t kh, float* dq, float* dk, float* dv) {
  const int64_t rep = H / Hkv;
  float* const probs = thread_buffer<Probs>(static_cast<size_t>(T * T));
  float* const dscores = thread_buffer<DScores>(static_cast<size_t>(T * T));
  for (int64_t h = kh * rep; h < (kh + 1) * rep; ++h) {
    // The first query head of a group overwrites dk/dv, the others add to them.
    const float kv_beta = h % rep == 0 ? 0.0f : 1.0f;
    gemm(false, true, T, T, D, scale, q + h * D, H * D, k + kh * D, Hkv * D, 0.0f, probs, T);
    gemm(false, true, T, T, D, 1.0f, dout + h * D, H * D, v + kh * D, Hkv * D, 0.0f, dscores, T);
#pragma omp parallel for schedule(static) if (T > 64)
    for (int64_t i = 0; i < T; ++i) {
      float* p = probs + i * T;
      float* ds = dscores + i * T;  // dP on entry, dS = P (dP - delta) on exit
      // delta = sum_j P_ij dP_ij = dout_i . out_i, cheaper from the saved output.
      const float* oi = out + (i * H + h) * D;
      const float* doi = dout + (i * H + h) * D;
      double delta = 0;
      for (int64_t e = 0; e < D; ++e) delta += static_cast<double>(oi[e]) * doi[e];
      const float lse_i = lse[h * T + i];
      for (int64_t j = 0; j <= i; ++j) {
        p[j] = std::exp(p[j] - lse_i);
        ds[j] = p[j] * (ds[j] - static_cast<float>(delta));
      }
      for (int64_t j = i + 1; j < T; ++j) p[j] = ds[j] = 0.0f;
    }
    gemm(true, false, T, D, T, 1.0f, probs, T, dout + h * D, H * D, kv_beta, dv + kh * D, Hkv * D);
    gemm(false, false, T, D, T, scale, dscores, T, k + kh * D, Hkv * D, 0.0f, dq + h * D, H * D);
    gemm(true, false, T, D, T, scale, dscores, T, q + h * D, H * D, kv_beta, dk + kh * D, Hkv * D);
  }
}

// Runs unit(s, kh) for every sequence s and key/value head kh, handed out to threads as they free
// (sequences differ in length). Fewer units than threads (one long sequence) run in order, each
// spreading its products' tiles over the threads instead. Every thread first calls
// reserve(longest sequence): which thread gets which unit changes from call to call, and a
// thread's score buffers, sized for the longest at once, then never grow in a later call of the
// same batch shape.
template <typename Reserve, typename Unit>
void for_each_unit(const std::vector<int64_t>& offsets, int64_t Hkv, const Reserve& reserve, const Unit& unit) {
  const int64_t units = static_cast<int64_t>(offsets.size() - 1) * Hkv;
  int64_t longest = 0;
  for (size_t s = 0; s + 1 < offsets.size(); ++s) longest = std::max(longest, offsets[s + 1] - offsets[s]);
#pragma omp parallel if (units >= omp_get_max_threads())
  {
    reserve(longest);
#pragma omp for schedule(dynamic, 1)
    for (int64_t u = 0; u < units; ++u) unit(u / Hkv, u % Hkv);
  }
}

}  // namespace

void attention_forward(const float* q, const float* k, const float* v, int64_t T, int64_t H, int64_t Hkv, int64_t D,
                       float scale, float* out, float* lse) {
  attention_forward_past(q, k, v, T, 0, H, Hkv, D, scale, out, lse);
}

void attention_forward_past(const float* q, const float* k, const float* v, int64_t T, int64_t past, int64_t H,
                            int64_t Hkv, int64_t D, float scale, float* out, float* lse) {
  for (int64_t kh = 0; kh < Hkv; ++kh) attention_forward_group(q, k, v, T, past, H, Hkv, D, scale, kh, out, lse);
}

void attention_backward(const float* q, const float* k, const float* v, const float* out, const float* lse,
                        const float* dout, int64_t T, int64_t H, int64_t Hkv, int64_t D, float scale, float* dq,
                        float* dk, float* dv) {
  for (int64_t kh = 0; kh < Hkv; ++kh)
    attention_backward_group(q, k, v, out, lse, dout, T, H, Hkv, D, scale, kh, dq, dk, dv);
}

void attention_forward_batch(const float* q, const float* k, const float* v, const std::vector<int64_t>& offsets,
                             int64_t H, int64_t Hkv, int64_t D, float scale, float* out, float* lse) {
  const auto reserve = [](int64_t T) { thread_buffer<Scores>(static_cast<size_t>(T * T)); };
  for_each_unit(offsets, Hkv, reserve, [&](int64_t s, int64_t kh) {
    const int64_t b = offsets[static_cast<size_t>(s)], T = offsets[static_cast<size_t>(s) + 1] - b;
    attention_forward_group(q + b * H * D, k + b * Hkv * D, v + b * Hkv * D, T, 0, H, Hkv, D, scale, kh,
                            out + b * H * D, lse + H * b);
  });
}

void attention_backward_batch(const float* q, const float* k, const float* v, const float* out, const float* lse,
                              const float* dout, const std::vector<int64_t>& offsets, int64_t H, int64_t Hkv, int64_t D,
                              float scale, float* dq, float* dk, float* dv) {
  const auto reserve = [](int64_t T) {
    thread_buffer<Probs>(static_cast<size_t>(T * T));
    thread_buffer<DScores>(static_cast<size_t>(T * T));
  };
  for_each_unit(offsets, Hkv, reserve, [&](int64_t s, int64_t kh) {
    const int64_t b = offsets[static_cast<size_t>(s)], T = offsets[static_cast<size_t>(s) + 1] - b;
    attention_backward_group(q + b * H * D, k + b * Hkv * D, v + b * Hkv * D, out + b * H * D, lse + H * b,
                             dout + b * H * D, T, H, Hkv, D, scale, kh, dq + b * H * D, dk + b * Hkv * D,
                             dv + b * Hkv * D);
  });
}

}  // namespace s0::ops::cpu
