#pragma once
// Small-M matrix products for decode steps (one token per sequence): y[i, :] = x[i, :] W^T (+ b).
//
// Each y[i, j] is dot(x_i, w_j) summed in one fixed order (fixed lanes, a fixed reduction) that
// does not depend on how many rows share the call, so a sequence's result is the same whatever
// else is in the batch, bit for bit. All rows go through one pass over W: a decode step streams the
// weights once for the whole batch instead of once per sequence, which is what bounds its speed.
#include <cstdint>

namespace s0::ops::cpu {

// W[out, in] float32; y[m, out] = x W^T + bias, added to y when `add`. Parallel over output columns.
void rowwise_linear(const float* x, int64_t m, const float* w, const float* bias, int64_t in, int64_t out, float* y,
                    bool add);
// The same with every product and sum in double (float inputs widen exactly), rounded to float
// once: the precise layers' policy (see Linear::precise) without storing W twice.
void rowwise_linear_f64(const float* x, int64_t m, const float* w, const float* bias, int64_t in, int64_t out,
                        float* y, bool add);

}  // namespace s0::ops::cpu
