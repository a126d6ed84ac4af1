#pragma once
// The gated delta rule of GatedDeltaNet over a packed batch, per value head h with state S[dk, dv]:
//   S <- exp(g_t) S;  S <- S + k_t (beta_t (v_t - S^T k_t))^T;  o_t = S^T q_t
// each sequence from its own start state (ops/varlen.h). q and k come L2-normalised and expanded
// to the value heads, q scaled by dk^-1/2; g is the log decay and beta the write strength
// (ops/gates.h). Computed in chunks (the WY / UT-transform form).
#include <vector>

#include "core/tensor.h"
#include "ops/columns.h"
#include "ops/product_precision.h"
#include "ops/varlen.h"

namespace s0::ops {

// q, k[N, H, dk], v[N, H, dv], g, beta[N, H] -> o[N, H, dv]. When `finals` is set, or a sequence
// carries its state (generation), the state after its last token [H, dk, dv] is kept: in
// (*finals)[s] and in *carried. When `chunk_states` is set (training: no sequence carries a
// state), the state entering every chunk of every sequence is kept there, in the backend's own
// layout, for gated_delta_backward of the same batch to start from instead of recomputing them (per
// token about H dk dv / 64 floats more to hold). A GPU keeps each chunk's preparation and delta
// rows there too (per token about H (dk dv / 64 + dk + 2 dv + 192) floats in all: 3.25 times the
// states alone at dk = dv = 128), so its backward repeats no part of the forward. `products`: on a
// GPU, the chunk products' precision (ops/product_precision.h; a backward takes its forward's).
// v may be a column block of H dv values a row (the conv's output): a GPU reads it in place.
void gated_delta_forward(const Tensor& q, const Tensor& k, const Columns& v, const Tensor& g, const Tensor& beta,
                         const Varlen& seqs, const std::vector<SequenceStart>& starts, Tensor& o,
                         std::vector<Tensor>* finals, Tensor* chunk_states = nullptr,
                         ProductPrecision products = ProductPrecision::f32);
inline void gated_delta_forward(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& g,
                                const Tensor& beta, const Varlen& seqs, const std::vector<SequenceStart>& starts,
                                Tensor& o, std::vector<Tensor>* finals, Tensor* chunk_states = nullptr,
                                ProductPrecision products = ProductPrecision::f32) {
  gated_delta_forward(q, k, all_columns(v), g, beta, seqs, starts, o, finals, chunk_states, products);
}
// Activation gradients for d_o[N, H, dv] (training: no sequence carries a state): dq, dk, dv, dg,
// dbeta shaped like their inputs (overwritten; dv may be a column block as v is, written in place
// by a GPU), and when `d_initial` is set, per sequence the gradient to its start state [H, dk, dv]
// (also for a zero start). chunk_states: the forward's, or empty (they are recomputed); the
// gradients are the same bits either way.
void gated_delta_backward(const Tensor& q, const Tensor& k, const Columns& v, const Tensor& g, const Tensor& beta,
                          const Varlen& seqs, const std::vector<SequenceStart>& starts, const Tensor& d_o, Tensor& dq,
                          Tensor& dk, const Columns& dv, Tensor& dg, Tensor& dbeta, std::vector<Tensor>* d_initial,
                          const Tensor& chunk_states = Tensor(), ProductPrecision products = ProductPrecision::f32);
inline void gated_delta_backward(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& g,
                                 const Tensor& beta, const Varlen& seqs, const std::vector<SequenceStart>& starts,
                                 const Tensor& d_o, Tensor& dq, Tensor& dk, Tensor& dv, Tensor& dg, Tensor& dbeta,
                                 std::vector<Tensor>* d_initial, const Tensor& chunk_states = Tensor(),
                                 ProductPrecision products = ProductPrecision::f32) {
  gated_delta_backward(q, k, all_columns(v), g, beta, seqs, starts, d_o, dq, dk, all_columns(dv), dg, dbeta, d_initial,
                       chunk_states, products);
}

}  // namespace s0::ops
