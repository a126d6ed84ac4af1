#pragma once
// Causal softmax attention over a packed batch with grouped key/value heads (query head h reads
// key/value head h / (H / Hkv)), each sequence attending only to itself; in generation, to its
// cached keys and values too. Rotary position embedding (NeoX layout, partial rotary) beside it.
#include <cstdint>
#include <vector>

#include "core/tensor.h"
#include "ops/product_precision.h"
#include "ops/varlen.h"

namespace s0::ops {

// One sequence's keys and values so far: rows [0, length) of k and v [capacity, Hkv * D]. The
// capacity grows by doubling, so a decode step appends without copying everything before it. Kept
// in float32, or in bf16 (`dtype`, a generation's option): then each key and value row is rounded to
// bf16 (nearest even) as it enters the cache, and every query, this call's included, attends over
// the rounded rows. A GPU decode step reads and writes the bf16 rows as they are; every other call
// (a prefill, a step some prompt joins, the CPU) runs over float32 copies holding the same values.
struct KvCache {
  Tensor k, v;
  int64_t length = 0;
  DType dtype = DType::F32;
  // The rows the sequence will hold at most, when known (a generation's prompt plus new tokens): a
  // growth that stays within them takes them all at once, so that the cache never grows again.
  // 0: unknown (each growth doubles).
  int64_t reserve = 0;
};

// q[N, H, D], k and v[N, Hkv, D] -> out[N, H, D]; lse[H * N] keeps, for sequence s, H rows of its
// length starting at H * begin(s): each query's log-sum-exp of the scaled scores, all the backward
// needs to rebuild the probabilities. With caches (one per sequence, or none), each sequence first
// appends its keys and values and attends over everything cached. `products`: how a GPU multiplies
// (ops/product_precision.h); the CPU computes in float32 and takes no notice.
void attention_forward(const Tensor& q, const Tensor& k, const Tensor& v, float scale, const Varlen& seqs,
                       const std::vector<KvCache*>& caches, Tensor& out, Tensor& lse,
                       ProductPrecision products = ProductPrecision::f32);
// dq, dk, dv (overwritten) from dout, given the forward's out and lse (training: no caches).
void attention_backward(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& out, const Tensor& lse,
                        const Tensor& dout, float scale, const Varlen& seqs, Tensor& dq, Tensor& dk, Tensor& dv,
                        ProductPrecision products = ProductPrecision::f32);

// x[N, heads, D] rotated in place by angle positions[t] * theta^(-2i / rot_dim) for pair i.
void rope_forward(Tensor& x, const std::vector<int64_t>& positions, int64_t rot_dim, double theta);
// The adjoint (a rotation by the opposite angle), in place on a gradient.
void rope_backward(Tensor& dx, const std::vector<int64_t>& positions, int64_t rot_dim, double theta);

// The attention's queries and keys from its input projection proj[N, width]: q[N, H, D] and
// k[N, Hkv, D] are the columns from q_begin and k_begin, each head RMS-normed by q_norm (k_norm)
// when that is not empty (its rstd per row and head into q_rstd, k_rstd [N * heads]), then rotated
// as by rope_forward. What copy_columns, rmsnorm_forward and rope_forward do in turn (the CPU runs
// exactly those), in one kernel on the GPU.
void qk_norm_rope_forward(const Tensor& proj, int64_t q_begin, int64_t k_begin, const Tensor& q_norm,
                          const Tensor& k_norm, float eps, const std::vector<int64_t>& positions, int64_t rot_dim,
                          double theta, Tensor& q, Tensor& k, Tensor& q_rstd, Tensor& k_rstd);

}  // namespace s0::ops
