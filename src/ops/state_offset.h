#pragma once
// The state-offset variant's per-token read-out (AdapterVariant::state_offset, core/adapter_variant.h):
// a learned tensor D shaped like a recurrent layer's state, read out at every timestep by the same
// vector that reads the state, and added to the layer's output:
//   GatedDeltaNet, state [nv, dk, dv]:  o_t[h] = S_t[h]^T q_t[h] + D[h]^T q_t[h]
//     (q_t L2-normalised, scaled by dk^-1/2 and expanded to the value heads, as the recurrence
//     reads it)
//   Mamba-2, state [H, P, Ns]:          y_t[h] = h_t[h] C_t[g] + D x_t + D_off[h] C_t[g]
//     (that is y_t = C_t^T h_t + C_t^T D_off per head, group g = h / (H / G); no dt factor)
// Unlike S0, this costs K * V multiply-adds per head and token, in prefill and decode alike.
//
// Each sequence carries its own offset (SequenceStart::offset; empty = none, nothing added), so a
// batch may mix s0 adapters, state-offset adapters and none. On the CPU (ops/cpu/state_offset.h)
// and on CUDA (ops/cuda/state_offset.h), with the same order of sums.
#include <vector>

#include "core/tensor.h"
#include "ops/varlen.h"

namespace s0::ops {

// Which state axis the read vector contracts with.
enum class OffsetLayout {
  KeyFirst,  // state [H, K, V]: GatedDeltaNet
  KeyLast,   // state [H, V, K]: Mamba-2
};

// out[N, H, V] += each sequence's offset read out by read[N, Hr, K] (head h reads h / (H / Hr)).
void state_offset_forward(const Tensor& read, const Varlen& seqs, const std::vector<SequenceStart>& starts,
                          OffsetLayout layout, Tensor& out);

// d_read[N, Hr, K] += the read gradient from d_out[N, H, V]. When `d_adapter` is set (one entry per
// sequence, as the recurrence's backward filled it with the initial-state gradients), the entry of
// every sequence that has an offset is replaced by the gradient to its offset: what such a
// sequence's adapter holds is the offset, and its initial state is zero, not trained.
void state_offset_backward(const Tensor& read, const Varlen& seqs, const std::vector<SequenceStart>& starts,
                           OffsetLayout layout, const Tensor& d_out, Tensor& d_read, std::vector<Tensor>* d_adapter);

// Whether any sequence carries an offset (the layers skip the op's work otherwise).
bool any_offset(const std::vector<SequenceStart>& starts);

}  // namespace s0::ops
