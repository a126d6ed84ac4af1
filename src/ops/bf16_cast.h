#pragma once
// Float32 tensors rounded to bf16 (nearest even) and bf16 tensors widened back (exact), on the
// tensor's own device: what caches kept in bf16 (ops/carried_state.h, ops/attention.h's KvCache)
// are made of.
#include "core/tensor.h"

namespace s0::ops {

// x (float32) rounded to bf16, on x's device.
Tensor rounded_to_bf16(const Tensor& x);
// into (bf16, x's element count, on x's device) = x (float32) rounded.
void round_into(const Tensor& x, Tensor& into);
// x (bf16) widened to float32, on x's device.
Tensor widened_from_bf16(const Tensor& x);

}  // namespace s0::ops
