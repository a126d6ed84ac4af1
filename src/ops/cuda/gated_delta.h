#pragma once
// CUDA gated delta rule over a packed batch: the same contract as ops/gated_delta.h, computed token
// by token in f32 (recurrence_sweep.cuh), not yet in the chunked WY form.
#include <vector>

#include "core/tensor.h"
#include "ops/varlen.h"

namespace s0::ops::cuda {

void gated_delta_forward(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& g, const Tensor& beta,
                         const Varlen& seqs, const std::vector<SequenceStart>& starts, Tensor& o,
                         std::vector<Tensor>* finals);
void gated_delta_backward(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& g, const Tensor& beta,
                          const Varlen& seqs, const std::vector<SequenceStart>& starts, const Tensor& d_o, Tensor& dq,
                          Tensor& dk, Tensor& dv, Tensor& dg, Tensor& dbeta, std::vector<Tensor>* d_initial);

}  // namespace s0::ops::cuda
