#pragma once
// The CPU's GEMM policy for a packed batch (see ops/linear.h): one BLAS call per group of rows,
// the order-fixed row-wise kernel for runs of one-row groups, double accumulation when precise.
#include <cstdint>
#include <vector>

namespace s0::ops::cpu {

// y[rows, out] (+)= x W^T + bias; `offsets` are the groups' cumulative row offsets.
void linear_groups_forward(const float* x, const std::vector<int64_t>& offsets, const float* w, const float* bias,
                           int64_t in, int64_t out, bool precise, float* y, bool add);
// dx[rows, in] (+)= dy W.
void linear_groups_backward(const float* dy, const std::vector<int64_t>& offsets, const float* w, int64_t in,
                            int64_t out, bool precise, float* dx, bool accumulate);

// The same with bf16 weights W[out, in], in bf16 x bf16 products with float32 accumulation (oneDNN's
// GEMM, ops/cpu/bf16_gemm.h; the row-wise kernel, ops/cpu/rowwise_bf16.h): x (dy) is rounded to bf16
// at the product's input. A precise layer's input is split into two bf16 parts, high = bf16(x) and
// low = bf16(x - high), multiplied separately and summed in float32: about 16 bits of x, against 8.
// Its backward rounds dy to one part, as every other layer's (ops/linear.h says why).
void linear_groups_forward_bf16(const float* x, const std::vector<int64_t>& offsets, const uint16_t* w,
                                const float* bias, int64_t in, int64_t out, bool precise, float* y, bool add);
void linear_groups_backward_bf16(const float* dy, const std::vector<int64_t>& offsets, const uint16_t* w, int64_t in,
                                 int64_t out, float* dx, bool accumulate);

}  // namespace s0::ops::cpu
