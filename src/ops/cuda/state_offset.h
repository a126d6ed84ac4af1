#pragma once
// CUDA state-offset read-out over a packed batch: the contract of ops/state_offset.h, whose dispatch
// has checked every offset against the layer's state shape and made the offset gradients. Plain
// kernels, one thread per result element, each summing its terms in the CPU's order (the op is a
// small fraction of a layer's work, so simplicity wins over bandwidth): a token's result depends on
// its own row only, never on the rest of the batch, and repeats bit for bit.
#include <vector>

#include "core/tensor.h"
#include "ops/state_offset.h"
#include "ops/varlen.h"

namespace s0::ops::cuda {

// out[N, H, V] += each sequence's offset (starts[s].offset, empty = none) read out by read[N, Hr, K].
void state_offset_forward(const Tensor& read, const Varlen& seqs, const std::vector<SequenceStart>& starts,
                          OffsetLayout layout, Tensor& out);
// d_read[N, Hr, K] += the read gradient of the sequences with an offset; d_offsets (when set, one
// entry per sequence) receives in the entry of each such sequence the gradient to its offset,
// written over the tensor of the offset's shape that the entry holds.
void state_offset_backward(const Tensor& read, const Varlen& seqs, const std::vector<SequenceStart>& starts,
                           OffsetLayout layout, const Tensor& d_out, Tensor& d_read,
                           const std::vector<Tensor>* d_offsets);

}  // namespace s0::ops::cuda
