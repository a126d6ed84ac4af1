#pragma once
// The pipeline GatedDeltaNet and Mamba-2 share: the input projection; a causal conv + SiLU (with
// its generation cache) over a block of the projection's columns; a family's recurrence core,
// from the conv output and the projection's gate columns; a gated RMS norm of the core's output
// by the projection's z columns; the output projection into the residual stream.
#include <functional>
#include <vector>

#include "core/tensor.h"
#include "model/model.h"
#include "ops/gate_order.h"
#include "ops/varlen.h"

namespace s0 {

// What a recurrent layer's forward keeps for a backward: nothing (inference, or a recompute tape's
// first pass); what the backward reads, for a block that a recompute tape re-runs right before its
// backward; or that for a tape kept whole from the forward to the backward.
enum class KeepFor { nothing, rerun, whole_tape };

// Where a mixer's pieces are: its weights and the column blocks of its input projection.
struct RecurrentPipeline {
  const Linear& in_proj;
  const Linear& out_proj;
  Tensor conv_w;  // [C, K]
  Tensor conv_b;  // [C] or empty
  int64_t conv_begin, conv_dim;  // the conv's input columns
  int64_t z_begin, width;        // the gate input columns; the core's output width
  Tensor norm_w;                 // [width], or empty for GateOnly
  int64_t norm_group;            // channels normalised together
  ops::GateOrder gate_order;
  float norm_eps;
};

// The part between the conv and the gated norm, which each family defines (capturing its own
// saved activations, the batch's sequences and their starts). Forward: o[N, width] from the
// projection and the conv output. Backward: from d_o[N, width], writes the gradient of the
// projection columns the core read itself (its gates) into dproj and returns the gradient of the
// conv output [N, C].
using RecurrentCoreForward = std::function<Tensor(const Tensor& proj, const Tensor& conv_out)>;
using RecurrentCoreBackward =
    std::function<Tensor(const Tensor& proj, const Tensor& conv_out, const Tensor& d_o, Tensor& dproj)>;

// A core that runs the conv itself (GatedDeltaNet's fused decode step, ops/gated_delta_decode.h):
// o[N, width] from the projection alone, the conv's generation cache included.
using RecurrentConvCoreForward = std::function<Tensor(const Tensor& proj)>;

struct RecurrentSaved {
  Tensor proj;       // [N, in_proj.out]
  Tensor conv_pre;   // [N, C] the conv output before SiLU
  Tensor conv_out;   // [N, C] after SiLU
  Tensor o;          // [N, width] the core's output
  Tensor norm_rstd;  // [N * width / norm_group], empty for GateOnly
};

// residual[N, hidden] += the mixer's output for its input h[N, hidden]; starts feed the conv's
// generation cache (the core uses them for the recurrence).
void recurrent_mixer_forward(const RecurrentPipeline& p, const RecurrentCoreForward& core, const ops::Varlen& seqs,
                             const std::vector<ops::SequenceStart>& starts, const Tensor& h, Tensor& residual,
                             RecurrentSaved& saved);
// The same around a core that runs the conv itself: saved.conv_pre and conv_out stay empty (there
// is no backward through it).
void recurrent_mixer_forward(const RecurrentPipeline& p, const RecurrentConvCoreForward& core, const ops::Varlen& seqs,
                             const Tensor& h, Tensor& residual, RecurrentSaved& saved);
// dh[N, hidden] = (or += when `accumulate`) the input gradient for d_out[N, hidden].
void recurrent_mixer_backward(const RecurrentPipeline& p, const RecurrentCoreBackward& core, const ops::Varlen& seqs,
                              const RecurrentSaved& saved, const Tensor& d_out, Tensor& dh, bool accumulate);

}  // namespace s0
