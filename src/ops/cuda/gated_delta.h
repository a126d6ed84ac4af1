#pragma once
// CUDA gated delta rule over a packed batch: the same contract as ops/gated_delta.h, computed in
// chunks of 64 tokens in the WY form, in f32 (gated_delta.cu says how the work is split). Scratch,
// freed on return: per chunk and head two [64, dk or dv] and three [64, 64] blocks in the forward;
// the backward adds two states (one when handed the forward's chunk states) and three more
// [64, dk or dv] blocks. Kept chunk states: per chunk and head one [dk, dv] state (chunks of every
// sequence, in the chunk plan's order), which spare the backward its forward sweep. Results repeat
// bit for bit and do not depend on the rest of the batch, nor on whether chunk states were kept.
// `products`: 3xTF32 or TF32 (ops/product_precision.h). v and dv are read and written in place in
// their column blocks.
#include <vector>

#include "core/tensor.h"
#include "ops/columns.h"
#include "ops/product_precision.h"
#include "ops/varlen.h"

namespace s0::ops::cuda {

void gated_delta_forward(const Tensor& q, const Tensor& k, const Columns& v, const Tensor& g, const Tensor& beta,
                         const Varlen& seqs, const std::vector<SequenceStart>& starts, Tensor& o,
                         std::vector<Tensor>* finals, Tensor* chunk_states, ProductPrecision products);
void gated_delta_backward(const Tensor& q, const Tensor& k, const Columns& v, const Tensor& g, const Tensor& beta,
                          const Varlen& seqs, const std::vector<SequenceStart>& starts, const Tensor& d_o, Tensor& dq,
                          Tensor& dk, const Columns& dv, Tensor& dg, Tensor& dbeta, std::vector<Tensor>* d_initial,
                          const Tensor& chunk_states, ProductPrecision products);

}  // namespace s0::ops::cuda
