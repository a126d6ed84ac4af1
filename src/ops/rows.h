#pragma once
// Rows picked by index: the embedding lookup (token ids into the table, times the embedding
// multiplier), the LM head's choice of rows to score, and their adjoint; the logit scale; and an in-place sum.
#include <cstdint>
#include <vector>

#include "core/tensor.h"

namespace s0::ops {

// [index.size(), d] = scale * table[index[i]] for table[rows, d], float32 (a GPU table may be bf16).
Tensor gather_rows(const Tensor& table, const std::vector<int64_t>& index, float scale = 1.0f);
// The same with the index an I64 tensor [n] on the table's device: token ids a decode step chose
// there, which the host has not read yet.
Tensor gather_rows(const Tensor& table, const Tensor& index, float scale = 1.0f);
// I64 [values.size()] on `from`'s device: from[take[i]] where take[i] >= 0, else values[i]. A
// step's token ids: the prompts' from the host, the decodes' from the tokens (I64) the step before
// chose on the device.
Tensor take_or_keep_i64(const std::vector<int64_t>& values, const Tensor& from, const std::vector<int64_t>& take);
// dst[index[i]] += scale * src[i]: the adjoint of gather_rows.
void scatter_add_rows(const Tensor& src, const std::vector<int64_t>& index, float scale, Tensor& dst);
// x *= s, in place (a logit multiplier); its backward is the same scaling of the gradient.
void scale_(Tensor& x, float s);
// dst += srcs[0], then += srcs[1], ...: elementwise over same-shaped float32 tensors on one device
// (gradients summed where they are, so only the sum crosses to the host), each cell's additions in
// that order, the bits of one add after another; on a GPU one pass for all of them.
void add_(Tensor& dst, const std::vector<Tensor>& srcs);

}  // namespace s0::ops
