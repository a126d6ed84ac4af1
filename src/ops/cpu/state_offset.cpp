#include "ops/cpu/state_offset.h"

#include <cstddef>
#include <vector>

namespace s0::ops::cpu {

namespace {

// Where D(h, k, v) is in the offset tensor.
struct OffsetIndex {
  int64_t K, V;
  bool key_first;
  int64_t operator()(int64_t h, int64_t k, int64_t v) const {
    return key_first ? (h * K + k) * V + v : (h * V + v) * K + k;
  }
};

}  // namespace

void state_offset_forward(const StateOffsetShape& s, const float* read, const float* D, float* out) {
  const int64_t rep = s.H / s.Hr;
  const OffsetIndex at{s.K, s.V, s.key_first};
#pragma omp parallel for schedule(static)
  for (int64_t t = 0; t < s.rows; ++t) {
    std::vector<float> acc(static_cast<std::size_t>(s.V));
    for (int64_t h = 0; h < s.H; ++h) {
      const float* r = read + (t * s.Hr + h / rep) * s.K;
      // The offset's read-out is summed on its own, then added: o = S^T q + (D^T q).
      for (int64_t v = 0; v < s.V; ++v) {
        float sum = 0;
        for (int64_t k = 0; k < s.K; ++k) sum += r[k] * D[at(h, k, v)];
        acc[static_cast<std::size_t>(v)] = sum;
      }
      float* o = out + (t * s.H + h) * s.V;
      for (int64_t v = 0; v < s.V; ++v) o[v] += acc[static_cast<std::size_t>(v)];
    }
  }
}

void state_offset_backward(const StateOffsetShape& s, const float* read, const float* D, const float* d_out,
                           float* d_read, float* dD) {
  const int64_t rep = s.H / s.Hr;
  const OffsetIndex at{s.K, s.V, s.key_first};
  // The read gradient: each token on its own (the heads of a group add into one read row).
#pragma omp parallel for schedule(static)
  for (int64_t t = 0; t < s.rows; ++t)
    for (int64_t h = 0; h < s.H; ++h) {
      const float* go = d_out + (t * s.H + h) * s.V;
      float* dr = d_read + (t * s.Hr + h / rep) * s.K;
      for (int64_t k = 0; k < s.K; ++k) {
        float sum = 0;
        for (int64_t v = 0; v < s.V; ++v) sum += go[v] * D[at(h, k, v)];
        dr[k] += sum;
      }
    }
  if (!dD) return;
  // The offset gradient: each head on its own, its tokens in order.
#pragma omp parallel for schedule(static)
  for (int64_t h = 0; h < s.H; ++h)
    for (int64_t t = 0; t < s.rows; ++t) {
      const float* r = read + (t * s.Hr + h / rep) * s.K;
      const float* go = d_out + (t * s.H + h) * s.V;
      for (int64_t k = 0; k < s.K; ++k)
        for (int64_t v = 0; v < s.V; ++v) dD[at(h, k, v)] += r[k] * go[v];
    }
}

}  // namespace s0::ops::cpu
