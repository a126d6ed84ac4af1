#pragma once
// CUDA causal GQA attention over a packed batch (the contract of ops/attention.h) and rotary
// embedding. Flash-style tiles: a block owns 64 queries (forward, dq) or keys (dk, dv) of one head
// and walks the other side's rows through shared memory; queries keep a running max and sum (online
// softmax), so no [T, T] matrix exists; f32 inputs, sums and outputs, the products on the tensor
// cores as `products` says (ops/product_precision.h: 3xTF32 or TF32); head dim at most 256.
#include <cstdint>
#include <vector>

#include "core/tensor.h"
#include "ops/attention.h"
#include "ops/product_precision.h"
#include "ops/varlen.h"

namespace s0::ops::cuda {

// The largest head dim the attention kernels (and the decode and q/k preparation ones) take.
constexpr int64_t kMaxHeadDim = 256;

// With caches, they already hold this call's keys and values after their earlier rows (the dispatch
// appends them); k and v are then not read.
void attention_forward(const Tensor& q, const Tensor& k, const Tensor& v, float scale, const Varlen& seqs,
                       const std::vector<KvCache*>& caches, Tensor& out, Tensor& lse, ProductPrecision products);
void attention_backward(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& out, const Tensor& lse,
                        const Tensor& dout, float scale, const Varlen& seqs, Tensor& dq, Tensor& dk, Tensor& dv,
                        ProductPrecision products);

void rope_forward(Tensor& x, const std::vector<int64_t>& positions, int64_t rot_dim, double theta);
void rope_backward(Tensor& dx, const std::vector<int64_t>& positions, int64_t rot_dim, double theta);

}  // namespace s0::ops::cuda
