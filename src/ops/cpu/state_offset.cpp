#include "ops/cpu/state_offset.h"

#include <cstddef>
#include <vector>

namespace s0::ops::cpu {

namespace {

// The three products the offset needs, each over a row-major [rows, cols] matrix M and each with its
// inner loop along M's rows (contiguous, vectorised across outputs; every output still sums its
// terms in ascending order, so the bits do not depend on the layout's loop choice).

// out[c] = sum_r x[r] * M[r, c]
void vector_times_matrix(const float* x, const float* M, int64_t rows, int64_t cols, float* out) {
  for (int64_t c = 0; c < cols; ++c) out[c] = 0;
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) out[c] += x[r] * M[r * cols + c];
}

// out[r] = sum_c M[r, c] * x[c]
void matrix_times_vector(const float* M, const float* x, int64_t rows, int64_t cols, float* out) {
  for (int64_t r = 0; r < rows; ++r) {
    float sum = 0;
    for (int64_t c = 0; c < cols; ++c) sum += M[r * cols + c] * x[c];
    out[r] = sum;
  }
}

// M[r, c] += a[r] * b[c]
void add_outer(const float* a, const float* b, int64_t rows, int64_t cols, float* M) {
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) M[r * cols + c] += a[r] * b[c];
}

}  // namespace

void state_offset_forward(const StateOffsetShape& s, const float* read, const float* D, float* out) {
  const int64_t rep = s.H / s.Hr;
#pragma omp parallel for schedule(static)
  for (int64_t t = 0; t < s.rows; ++t) {
    std::vector<float> acc(static_cast<std::size_t>(s.V));
    for (int64_t h = 0; h < s.H; ++h) {
      const float* r = read + (t * s.Hr + h / rep) * s.K;
      const float* Dh = D + h * s.K * s.V;
      // The offset's read-out is summed on its own, then added: o = S^T q + (D^T q).
      if (s.key_first)
        vector_times_matrix(r, Dh, s.K, s.V, acc.data());  // D[h] is [K, V]
      else
        matrix_times_vector(Dh, r, s.V, s.K, acc.data());  // D[h] is [V, K]
      float* o = out + (t * s.H + h) * s.V;
      for (int64_t v = 0; v < s.V; ++v) o[v] += acc[static_cast<std::size_t>(v)];
    }
  }
}

void state_offset_backward(const StateOffsetShape& s, const float* read, const float* D, const float* d_out,
                           float* d_read, float* dD) {
  const int64_t rep = s.H / s.Hr;
  // The read gradient: each token on its own (the heads of a group add into one read row).
#pragma omp parallel for schedule(static)
  for (int64_t t = 0; t < s.rows; ++t) {
    std::vector<float> acc(static_cast<std::size_t>(s.K));
    for (int64_t h = 0; h < s.H; ++h) {
      const float* go = d_out + (t * s.H + h) * s.V;
      const float* Dh = D + h * s.K * s.V;
      if (s.key_first)
        matrix_times_vector(Dh, go, s.K, s.V, acc.data());
      else
        vector_times_matrix(go, Dh, s.V, s.K, acc.data());
      float* dr = d_read + (t * s.Hr + h / rep) * s.K;
      for (int64_t k = 0; k < s.K; ++k) dr[k] += acc[static_cast<std::size_t>(k)];
    }
  }
  if (!dD) return;
  // The offset gradient: each head on its own, its tokens in order.
#pragma omp parallel for schedule(static)
  for (int64_t h = 0; h < s.H; ++h)
    for (int64_t t = 0; t < s.rows; ++t) {
      const float* r = read + (t * s.Hr + h / rep) * s.K;
      const float* go = d_out + (t * s.H + h) * s.V;
      float* dDh = dD + h * s.K * s.V;
      if (s.key_first)
        add_outer(r, go, s.K, s.V, dDh);
      else
        add_outer(go, r, s.V, s.K, dDh);
    }
}

}  // namespace s0::ops::cpu
