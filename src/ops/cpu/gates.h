#pragma once
// The pointwise gates of the mixers, each reading its raw inputs in place from columns of a fused
// projection (row stride `ld`), with the backward beside the forward.
#include <cstdint>

namespace s0::ops::cpu {

// GatedDeltaNet: beta[N, H] = sigmoid(b), g[N, H] = neg_A * softplus(a + dt_bias), where b and a
// are H columns each of rows with stride ld.
void gated_delta_gates_forward(const float* b, const float* a, int64_t ld, const float* neg_A, const float* dt_bias,
                               int64_t N, int64_t H, float* beta, float* g);
// db and da (written into columns of rows with stride ld) from dbeta and dg.
void gated_delta_gates_backward(const float* a, int64_t ld, const float* neg_A, const float* dt_bias,
                                const float* beta, const float* dbeta, const float* dg, int64_t N, int64_t H, float* db,
                                float* da);

// Mamba-2: dt[N, H] = clamp(softplus(raw + dt_bias), dt_min, dt_max), raw H columns of stride ld.
void mamba2_dt_forward(const float* raw, int64_t ld, const float* dt_bias, float dt_min, float dt_max, int64_t N,
                       int64_t H, float* dt);
// draw (columns of stride ld) from ddt; the clamp passes gradient inside its range only.
void mamba2_dt_backward(const float* raw, int64_t ld, const float* dt_bias, float dt_min, float dt_max,
                        const float* ddt, int64_t N, int64_t H, float* draw);

// Attention's output gate: out[N, d] = o * sigmoid(gate), gate d columns of stride ld.
void sigmoid_gate_forward(const float* o, const float* gate, int64_t ld, int64_t N, int64_t d, float* out);
// dgate (columns of stride ld) and do[N, d] (may be dout itself) from dout.
void sigmoid_gate_backward(const float* o, const float* gate, int64_t ld, const float* dout, int64_t N, int64_t d,
                           float* dgate, float* d_o);

}  // namespace s0::ops::cpu
