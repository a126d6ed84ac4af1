#pragma once
// The decode step's gated delta inputs on the GPU: ops/gated_delta_decode.h's contract, one launch.
#include <vector>

#include "core/tensor.h"
#include "ops/columns.h"
#include "ops/gated_delta_decode.h"
#include "ops/varlen.h"

namespace s0::ops::cuda {

void gated_delta_decode_inputs(const Columns& qkv, const Columns& b, const Columns& a, const Tensor& conv_w,
                               const Tensor& neg_A, const Tensor& dt_bias, const GatedDeltaHeads& heads, float eps,
                               float q_scale, const std::vector<SequenceStart>& starts, GatedDeltaStepInputs& out);

}  // namespace s0::ops::cuda
