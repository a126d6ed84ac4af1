#pragma once
// The attention's queries and keys from its input projection in one kernel (ops/attention.h's
// qk_norm_rope_forward): each head's columns copied out, RMS-normed and rotated, a block per row
// and group of its heads, the group sharing the rotation's angles. Head dim at most 256.
#include <cstdint>
#include <vector>

#include "core/tensor.h"

namespace s0::ops::cuda {

void qk_norm_rope_forward(const Tensor& proj, int64_t q_begin, int64_t k_begin, const Tensor& q_norm,
                          const Tensor& k_norm, float eps, const std::vector<int64_t>& positions, int64_t rot_dim,
                          double theta, Tensor& q, Tensor& k, Tensor& q_rstd, Tensor& k_rstd);

}  // namespace s0::ops::cuda
