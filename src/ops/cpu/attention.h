#pragma once
// Causal softmax attention over one sequence with grouped key/value heads (query head h reads
// key/value head h / (H / Hkv)).
#include <cstdint>
#include <vector>

namespace s0::ops::cpu {

// q[T, H, D], k and v[T, Hkv, D] -> out[T, H, D]. lse[H, T] (optional) receives each row's
// log-sum-exp of the scaled scores, which is all the backward needs to rebuild the probabilities.
void attention_forward(const float* q, const float* k, const float* v, int64_t T, int64_t H, int64_t Hkv, int64_t D,
                       float scale, float* out, float* lse);
// The same for T queries that follow `past` earlier tokens (generation with a KV cache): k and v
// hold past + T rows, and query i sees keys 0 .. past + i. past = 0 is attention_forward.
void attention_forward_past(const float* q, const float* k, const float* v, int64_t T, int64_t past, int64_t H,
                            int64_t Hkv, int64_t D, float scale, float* out, float* lse);
// dq[T, H, D], dk and dv[T, Hkv, D] from dout[T, H, D], given the forward's out and lse. dk and dv
// are overwritten, each summing over the query heads that share its key/value head.
void attention_backward(const float* q, const float* k, const float* v, const float* out, const float* lse,
                        const float* dout, int64_t T, int64_t H, int64_t Hkv, int64_t D, float scale, float* dq,
                        float* dk, float* dv);

// A training batch (no caches): sequence s holds rows [offsets[s], offsets[s + 1]) of q, k, v, out,
// dq, dk, dv, and H rows of lse from H * offsets[s]; each attends to itself. The work is spread
// over the threads by (sequence, key/value head) units, one parallel region per call, where the
// per-head products of the functions above have a parallel region (a barrier) each, seven per
// query head; a thread kept from its partner by other processes held up every one. Inside a unit
// the products run in the same tiles on its thread, so the results are the same bits.
void attention_forward_batch(const float* q, const float* k, const float* v, const std::vector<int64_t>& offsets,
                             int64_t H, int64_t Hkv, int64_t D, float scale, float* out, float* lse);
void attention_backward_batch(const float* q, const float* k, const float* v, const float* out, const float* lse,
                              const float* dout, const std::vector<int64_t>& offsets, int64_t H, int64_t Hkv, int64_t D,
                              float scale, float* dq, float* dk, float* dv);

}  // namespace s0::ops::cpu
