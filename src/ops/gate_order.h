#pragma once
// Where a gated RMS norm applies its SiLU gate: after normalising (Qwen3.5 GatedDeltaNet, Mamba-2
// default), before (Falcon-H1 with mamba_norm_before_gate = false), or with no norm at all.
namespace s0::ops {

enum class GateOrder { NormThenGate, GateThenNorm, GateOnly };

}  // namespace s0::ops
