#pragma once
// RMS and L2 norms on the GPU (float32, a block per row or group, a warp for short ones, sums in
// double as on the CPU): the same arguments and results as ops/cpu/norm.h and ops/cpu/l2norm.h, over
// device pointers. The outputs a GEMM reads next may be bf16 (ops/cuda/output.h).
#include <cstdint>

#include "ops/cuda/output.h"
#include "ops/gate_order.h"

namespace s0::ops::cuda {

void rmsnorm_forward(const float* x, const float* w, int64_t n, int64_t d, float eps, Output y, float* rstd);
// x and dx: `per_line` rows of d in lines ldx (lddx) apart, as l2norm's below (1, d, d: rows side
// by side); dy contiguous. dx16 (bf16, n rows of d side by side), unless null, receives dx's
// entries as written, rounded to bf16.
void rmsnorm_backward(const float* x, int64_t per_line, int64_t ldx, const float* w, const float* rstd, const float* dy,
                      int64_t n, int64_t d, float* dx, int64_t lddx, bool accumulate, void* dx16 = nullptr);

// z (and dz): rows ldz (lddz) apart, a projection's columns read (written) in place.
void gated_rmsnorm_forward(const float* y, const float* z, int64_t ldz, const float* w, int64_t n, int64_t d,
                           int64_t group, float eps, GateOrder order, Output out, float* rstd);
void gated_rmsnorm_backward(const float* y, const float* z, int64_t ldz, const float* w, const float* rstd,
                            const float* dout, int64_t n, int64_t d, int64_t group, GateOrder order, float* dy,
                            Output dz, int64_t lddz);

// x (and dx): `per_line` rows of d side by side in lines ldx (lddx) apart, a projection's column
// block of heads read (written) in place; y and dy contiguous. Each normalised row is written to
// `copies` consecutive rows of y, times `scale`, and the backward's dy row is the sum of its copies
// times the scale: GatedDeltaNet's key heads expanded to its value heads (ops/heads.h) in the same
// pass.
void l2norm_forward(const float* x, int64_t per_line, int64_t ldx, int64_t n, int64_t d, float eps, float* y,
                    float* rnorm, int64_t copies = 1, float scale = 1.0f);
void l2norm_backward(const float* x, int64_t per_line, int64_t ldx, const float* rnorm, const float* dy, int64_t n,
                     int64_t d, float* dx, int64_t lddx, int64_t copies = 1, float scale = 1.0f);

}  // namespace s0::ops::cuda
