#pragma once
// The state offset's read-out for one sequence's rows (ops/state_offset.h has the formula). Plain
// loops in a fixed order: a token's result depends on nothing but its own row, never on how many
// rows the call holds, so prefill, cached decode and any batch give the same bits (a GEMM's would
// depend on the row count).
#include <cstdint>

namespace s0::ops::cpu {

// Shapes of one call: `rows` tokens; read [rows, Hr, K]; offset D [H, K, V] when key_first (GatedDeltaNet's
// state layout), else [H, V, K] (Mamba-2's); out [rows, H, V]. Head h reads read-head h / (H / Hr).
struct StateOffsetShape {
  int64_t rows, Hr, H, K, V;
  bool key_first;
};

// out[t, h, v] += sum_k read[t, h / rep, k] * D(h, k, v)
void state_offset_forward(const StateOffsetShape& s, const float* read, const float* D, float* out);
// d_read[t, g, k] += sum over heads h of group g, sum_v d_out[t, h, v] * D(h, k, v);
// dD(h, k, v) += sum_t read[t, h / rep, k] * d_out[t, h, v] (dD may be null: not wanted).
void state_offset_backward(const StateOffsetShape& s, const float* read, const float* D, const float* d_out,
                           float* d_read, float* dD);

}  // namespace s0::ops::cpu
