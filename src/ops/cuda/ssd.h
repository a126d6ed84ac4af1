#pragma once
// CUDA Mamba-2 SSD over a packed batch: the same contract as ops/ssd.h, computed token by token in
// f32 (recurrence_sweep.cuh), not yet in the chunked tensor-core form.
#include <vector>

#include "core/tensor.h"
#include "ops/varlen.h"

namespace s0::ops::cuda {

void ssd_forward(const Tensor& x, const Tensor& dt, const Tensor& A, const Tensor& B, const Tensor& C,
                 const Tensor& D, const Varlen& seqs, const std::vector<SequenceStart>& starts, Tensor& y,
                 std::vector<Tensor>* finals);
void ssd_backward(const Tensor& x, const Tensor& dt, const Tensor& A, const Tensor& B, const Tensor& C,
                  const Tensor& D, const Varlen& seqs, const std::vector<SequenceStart>& starts, const Tensor& d_y,
                  Tensor& dx, Tensor& ddt, Tensor& dB, Tensor& dC, std::vector<Tensor>* d_initial);

}  // namespace s0::ops::cuda
