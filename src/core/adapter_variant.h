#pragma once
// What an adapter's tensors are (one per recurrent layer, each shaped like the layer's state):
//   s0            the state the recurrence starts from (S0 tuning; no per-token cost)
//   state_offset  a state-shaped offset D whose read-out is added at every timestep (per-step
//                 state-offset tuning after Kang et al. 2025, the paper's comparison; per-token
//                 cost): GatedDeltaNet o_t = S_t^T q_t + D^T q_t, Mamba-2 y_t = C_t^T h_t + C_t^T D
//                 (see ops/state_offset.h)
// Files (io/adapter_file.h), batches (model/batch.h) and training (tune/) all carry it.
#include <string>

#include "core/error.h"

namespace s0 {

enum class AdapterVariant { s0, state_offset };

inline const char* variant_name(AdapterVariant v) { return v == AdapterVariant::s0 ? "s0" : "state-offset"; }

// "s0" or "state-offset"; anything else fails naming `what` (a flag or a file's key).
inline AdapterVariant parse_variant(const std::string& name, const std::string& what) {
  if (name == "s0") return AdapterVariant::s0;
  if (name == "state-offset") return AdapterVariant::state_offset;
  fail(what, ": unknown variant \"", name, "\" (expected s0 or state-offset)");
}

}  // namespace s0
