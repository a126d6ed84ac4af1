#pragma once
// The Mamba-2 selective state-space recurrence (SSD) over a packed batch, per head h with state
// S[P, N]:  S <- exp(dt_t A_h) S + dt_t x_t B_t^T;  y_t = S C_t + D_h x_t
// each sequence from its own start state (ops/varlen.h); B and C are shared by the H / G heads of
// each group. Computed in chunks with matrix products.
#include <vector>

#include "core/tensor.h"
#include "ops/product_precision.h"
#include "ops/varlen.h"

namespace s0::ops {

// x[N, H, P], dt[N, H] (after softplus and clamping), A[H] (negative), B, C[N, G, Ns], D[H] ->
// y[N, H, P]. Final states [H, P, Ns], chunk_states (per token about H P Ns / 64 floats; the CPU's
// only: a GPU recomputes them) and `products` as in gated_delta_forward.
void ssd_forward(const Tensor& x, const Tensor& dt, const Tensor& A, const Tensor& B, const Tensor& C,
                 const Tensor& D, const Varlen& seqs, const std::vector<SequenceStart>& starts, Tensor& y,
                 std::vector<Tensor>* finals, Tensor* chunk_states = nullptr,
                 ProductPrecision products = ProductPrecision::f32);
// Activation gradients for d_y (training: no sequence carries a state): dx, ddt, dB, dC shaped like
// their inputs (dB, dC summed over the heads of each group), and when `d_initial` is set, per
// sequence the gradient to its start state. A and D are weights and get none. chunk_states: the
// forward's, or empty (recomputed); the same bits either way.
void ssd_backward(const Tensor& x, const Tensor& dt, const Tensor& A, const Tensor& B, const Tensor& C,
                  const Tensor& D, const Varlen& seqs, const std::vector<SequenceStart>& starts, const Tensor& d_y,
                  Tensor& dx, Tensor& ddt, Tensor& dB, Tensor& dC, std::vector<Tensor>* d_initial,
                  const Tensor& chunk_states = Tensor(), ProductPrecision products = ProductPrecision::f32);

}  // namespace s0::ops
