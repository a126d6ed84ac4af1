#pragma once
// The model forward over a packed batch. Optionally records a tape (what the backward needs),
// per-layer hidden states, and each recurrent layer's final state per sequence.
#include <variant>
#include <vector>

#include "model/batch.h"
#include "model/layers/attention_layer.h"
#include "model/layers/ffn_layer.h"
#include "model/layers/gated_delta_layer.h"
#include "model/layers/mamba2_layer.h"
#include "model/model.h"

namespace s0 {

class DecodeGraphs;  // model/decode_graphs.h

using MixerSaved = std::variant<AttentionSaved, GatedDeltaSaved, Mamba2Saved>;

struct BlockSaved {
  Tensor x_in;      // [N, hidden] residual stream entering the block
  Tensor mix_rstd;  // [N]
  Tensor h;         // [N, hidden] normalised mixer input (bf16 where only bf16 GEMMs read it)
  std::vector<MixerSaved> mixers;
  Tensor x_mid;     // [N, hidden] residual stream after the mixers
  Tensor mlp_rstd;  // [N]
  Tensor h2;        // [N, hidden] normalised MLP input (likewise)
  FfnSaved ffn;     // the dense MLP's and the routed experts' activations
};

// What the backward reads. Memory per token and block (floats), with hidden size Hd, MLP width I
// and the mixer's projection width Pm: residual, norm and MLP buffers 4 Hd + 2 I + 2 (an MoE block
// adds E router probabilities and, per chosen expert, 2 I' + Hd for its width I'), plus for
// GatedDeltaNet Pm + 2 C + 2 nv dk + nv dv + 3 nv + 2 nk + nv dk dv / 64 (C = conv width; the last
// term the recurrence's chunk states, which spare the backward a sweep), for attention
// Pm + (2 H + 2 Hkv) D + 2 H + Hkv, for Mamba-2 Pm + 2 C + d + H + G + H P N / 64 (its chunk states).
// With `recompute`, a block keeps only x_in (Hd floats per token) and the backward re-runs the
// block's forward from it, trading one extra forward for that memory.
struct ForwardTape {
  bool recompute = false;
  std::vector<BlockSaved> blocks;
  Tensor x_final;     // [N, hidden] residual stream before the final norm
  Tensor final_rstd;  // [N]
};

struct ForwardOptions {
  std::vector<int64_t> logit_rows;  // packed token indices whose logits are returned
  bool all_logits = false;          // return logits for every token instead
  bool keep_hidden = false;
  bool keep_final_states = false;
  ForwardTape* tape = nullptr;      // when set, filled with the activations the backward needs
  // When set, a decode step on a GPU that keeps nothing else runs its recurrent blocks from the CUDA
  // graphs kept there (the caller keeps them from one step to the next).
  DecodeGraphs* graphs = nullptr;
};

struct ForwardOutput {
  Tensor logits;  // [rows, vocab] in logit_rows order (or all tokens)
  Tensor final_normed;  // [N, hidden] the final-norm output (the LM head's input)
  // hidden[0] embeddings (times the embedding multiplier), hidden[j] after block j-1,
  // hidden[L+1] after the final norm; each [N, hidden].
  std::vector<Tensor> hidden;
  // final_states[slot][seq]: the state of recurrent layer `slot` after the last token of `seq`.
  std::vector<std::vector<Tensor>> final_states;
};

ForwardOutput forward(const HybridModel& model, const PackedBatch& batch, const ForwardOptions& options);

// One block on the residual stream x[N, hidden] in place; `saved` receives its activations (mixer
// activations only when `keep` is not nothing). finals (per sequence) receives the recurrent layer's
// states. (The backward re-runs it with KeepFor::rerun when the tape was recorded with `recompute`.)
void block_forward(const Block& blk, const HybridModel& model, const PackedBatch& batch, Tensor& x, BlockSaved& saved,
                   KeepFor keep, std::vector<Tensor>* finals);
// block_forward's two halves: the mixers (their norm, the mixers, their residual adds), then the
// feed-forward (its norm, the MLP and the experts, their residual add); `saved.x_mid` is between.
void block_mixers_forward(const Block& blk, const HybridModel& model, const PackedBatch& batch, Tensor& x,
                          BlockSaved& saved, KeepFor keep, std::vector<Tensor>* finals);
void block_ffn_forward(const Block& blk, const HybridModel& model, const PackedBatch& batch, Tensor& x,
                       BlockSaved& saved);

// Checks token ids against the vocabulary and the batch's initial states against the model's state
// shapes; the error names the sequence and position or layer.
void validate_batch(const HybridModel& model, const PackedBatch& batch);

}  // namespace s0
