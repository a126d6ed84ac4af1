#pragma once
// The mixture-of-experts pieces of ops/moe.h on the GPU (float32): ops/cpu/moe.h's arguments over
// device pointers (index arrays included, uploaded by the dispatch).
#include <cstdint>

namespace s0::ops::cuda {

void route_top_k(const float* logits, int64_t N, int64_t E, int64_t k, bool normalize, float* probs, int64_t* experts,
                 float* weights);
void route_top_k_backward(const float* probs, const int64_t* experts, const float* weights, const float* d_weights,
                          int64_t N, int64_t E, int64_t k, bool normalize, float* d_logits);

void route_sigmoid_grouped(const float* logits, const float* bias, int64_t N, int64_t E, int64_t k, bool normalize,
                           int64_t n_group, int64_t topk_group, double scale, float* scores, int64_t* experts,
                           float* weights);
void route_sigmoid_backward(const float* scores, const int64_t* experts, const float* weights, const float* d_weights,
                            int64_t N, int64_t E, int64_t k, bool normalize, double scale, float* d_logits);

void weighted_rows_add(const float* y, const int64_t* rows, const float* weights, const int64_t* slots, int64_t n,
                       int64_t d, float* out);
void weighted_rows_add_backward(const float* y, const int64_t* rows, const float* weights, const int64_t* slots,
                                const float* d_out, int64_t n, int64_t d, float* dy, float* d_weights);

void sigmoid_row_gate(const float* y, const float* gate, int64_t N, int64_t d, float* out);
void sigmoid_row_gate_backward(const float* y, const float* gate, const float* d_out, int64_t N, int64_t d, float* dy,
                               float* dgate);

}  // namespace s0::ops::cuda
