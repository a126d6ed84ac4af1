#pragma once
// CUDA Mamba-2 SSD over a packed batch: the same contract as ops/ssd.h, computed in chunks of 64
// tokens in f32, the chunk products in 3xTF32 or TF32 (`products`, ops/product_precision.h; ssd.cu says
// how the work is split). Scratch, freed on return: per chunk and head a
// [64, 64] block in the forward; the backward adds two states and a [64, P] block, and each head's
// shares of dB and dC. Results repeat bit for bit and do not depend on the rest of the batch.
#include <vector>

#include "core/tensor.h"
#include "ops/product_precision.h"
#include "ops/varlen.h"

namespace s0::ops::cuda {

void ssd_forward(const Tensor& x, const Tensor& dt, const Tensor& A, const Tensor& B, const Tensor& C,
                 const Tensor& D, const Varlen& seqs, const std::vector<SequenceStart>& starts, Tensor& y,
                 std::vector<Tensor>* finals, ProductPrecision products);
void ssd_backward(const Tensor& x, const Tensor& dt, const Tensor& A, const Tensor& B, const Tensor& C,
                  const Tensor& D, const Varlen& seqs, const std::vector<SequenceStart>& starts, const Tensor& d_y,
                  Tensor& dx, Tensor& ddt, Tensor& dB, Tensor& dC, std::vector<Tensor>* d_initial,
                  ProductPrecision products);

}  // namespace s0::ops::cuda
