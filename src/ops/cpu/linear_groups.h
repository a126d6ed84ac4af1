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

}  // namespace s0::ops::cpu
