#pragma once
// A generation cache may keep its recurrent states in bf16 (SequenceStart::carried_dtype): half the
// memory of a sequence's recurrent caches and half a decode step's state traffic, for one rounding
// of each state to bf16's 8 significant bits at the end of every forward call. The recurrence still
// computes in float32 from the widened start. On a GPU a decode step's step kernels read and write
// such states as they are; every other call (a prompt's prefill, a step some prompt joins, the CPU)
// runs over float32 copies and rounds the states back at its end: the same rounding at the same point,
// so which path a call takes changes no bit.
#include <functional>
#include <vector>

#include "core/tensor.h"
#include "ops/varlen.h"

namespace s0::ops {

// Whether any sequence carries its state in bf16.
bool any_bf16_carried(const std::vector<SequenceStart>& starts);

// Whether a recurrence's GPU step kernel takes the call's states as they are: a decode step on a
// GPU (every sequence one token long, carrying a bf16 state from an earlier call) that hands back no
// final states of its own. A sequence's first call starts from its adapter's float32 state, so it
// runs over float32 as every other call does.
bool bf16_step_call(Device device, const Varlen& seqs, const std::vector<SequenceStart>& starts,
                    bool hands_back_finals);

// op(the starts with each bf16 carried state widened to a float32 copy), then each state op leaves
// rounded back into its cache (in place where the cache held one, so its address stays).
void with_f32_carried(const std::vector<SequenceStart>& starts,
                      const std::function<void(const std::vector<SequenceStart>&)>& op);

}  // namespace s0::ops
