#pragma once
// The architecture-neutral hybrid model: an embedding, a list of blocks (token mixers whose outputs
// add to the residual stream, then a SwiGLU MLP), a final norm and an LM head. Family files in
// model/arch/ translate a checkpoint into this form once, folding every constant multiplier and
// zero-centred norm into the weights, so the forward has no family-specific branch.
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include "core/tensor.h"
#include "ops/product_precision.h"
#include "ops/gate_order.h"
#include "ops/linear.h"
#include "ops/moe.h"

namespace s0 {

// Linear layers and their batching policy are an op (ops/linear.h): the layers call it.
using ops::Linear;

// Softmax attention with rotary positions, grouped KV heads, optional per-head q/k RMS norms and an
// optional sigmoid output gate. in_proj rows: q [H*D], gate [H*D] (if output_gate), k, v [Hkv*D].
struct AttentionMixer {
  int64_t n_heads = 0, n_kv_heads = 0, head_dim = 0, rotary_dim = 0;
  double rope_theta = 10000.0;
  float scale = 1.0f;
  bool output_gate = false;
  Tensor q_norm, k_norm;  // [D] plain weights, or empty
  float norm_eps = 1e-6f;
  Linear in_proj, out_proj;
  // The attention's products on a GPU: TF32 where the matrices are bf16 (model_on_device.h).
  ops::ProductPrecision products = ops::ProductPrecision::f32;
};

// GatedDeltaNet. in_proj rows: q [nk*dk], k [nk*dk], v [nv*dv] (these three go through the causal
// conv), z [nv*dv], b [nv], a [nv].
struct GatedDeltaMixer {
  int64_t n_k_heads = 0, n_v_heads = 0, k_dim = 0, v_dim = 0, conv_kernel = 0;
  float norm_eps = 1e-6f;
  Linear in_proj, out_proj;
  Tensor conv_w;   // [2 nk dk + nv dv, K]
  Tensor neg_A;    // -exp(A_log) [nv]
  Tensor dt_bias;  // [nv]
  Tensor norm_w;   // [nv * dv]: the per-head norm weight repeated for every head
  // The recurrence's chunk products on a GPU: TF32 where the matrices are bf16 (model_on_device.h).
  ops::ProductPrecision products = ops::ProductPrecision::f32;
  int64_t conv_dim() const { return 2 * n_k_heads * k_dim + n_v_heads * v_dim; }
};

// Mamba-2. in_proj rows: z [d], x [d], B [G*N], C [G*N], dt [H], d = H * P; x, B, C go through the
// causal conv. Output: y gated by silu(z), optionally RMS-normalised in groups of norm_group
// channels (d / G in Falcon-H1 and Nemotron-H; all d in Bamba and Granite 4.0 H).
struct Mamba2Mixer {
  int64_t n_heads = 0, head_dim = 0, d_state = 0, n_groups = 0, conv_kernel = 0;
  float dt_min = 0.0f, dt_max = 0.0f;  // dt is clamped to [dt_min, dt_max]
  ops::GateOrder gate_order = ops::GateOrder::GateOnly;
  float norm_eps = 1e-6f;
  Linear in_proj, out_proj;
  Tensor conv_w, conv_b;  // [d + 2 G N, K], [d + 2 G N] or empty
  Tensor dt_bias, neg_A, D;  // [H] each; neg_A = -exp(A_log)
  Tensor norm_w;             // [d] or empty (GateOnly)
  int64_t norm_group = 0;    // channels normalised together
  // The SSD's chunk products on a GPU: TF32 where the matrices are bf16 (model_on_device.h).
  ops::ProductPrecision products = ops::ProductPrecision::f32;
  int64_t d_ssm() const { return n_heads * head_dim; }
  int64_t conv_dim() const { return d_ssm() + 2 * n_groups * d_state; }
};

using Mixer = std::variant<AttentionMixer, GatedDeltaMixer, Mamba2Mixer>;

// One routed expert, a SwiGLU MLP (or a squared-ReLU one, whose gate_up holds the up rows alone:
// SparseMoe::expert_act). Its [gate | up] input projection is one Linear when the
// checkpoint stacks them ([2I, hidden]), or the gate and up Linears in that order when it stores
// them apart: on the CPU expert weights stored as f32 stay views into the mapped checkpoint, so
// they are never concatenated.
struct Expert {
  std::vector<Linear> gate_up;  // row blocks of [gate (I) | up (I)], 1 or 2; [up (I)] for ReluSquared
  Linear down;                  // [hidden, I]
  int64_t inter() const { return down.in; }
};

enum class MlpActivation {
  SwiGLU,       // silu(gate) * up, the input projection [gate | up]
  ReluSquared,  // relu(up)^2, the input projection up alone (Nemotron-H)
};

// Sparse mixture of experts: a router picks top_k experts per token by softmax probability (their
// weights renormalised to sum 1 when `normalize`), whose outputs are summed with those weights. With
// a correction bias the router is Nemotron-H's instead: sigmoid scores, grouped top-k (ops/moe.h's
// route_sigmoid_grouped). The block's dense MLP, when present, is the shared expert that every
// token uses, its output scaled by sigmoid(shared_gate . h) when shared_gate is set.
struct SparseMoe {
  int64_t top_k = 0;
  bool normalize = false;
  float output_scale = 1.0f;  // multiplies every routed expert's output (Granite's residual multiplier)
  Linear router;  // [experts, hidden]
  Tensor correction_bias;    // [experts]: the sigmoid router; empty: the softmax router
  ops::GroupedTopK groups;   // the sigmoid router's groups and routed_scaling_factor
  std::vector<Expert> experts;
  MlpActivation expert_act = MlpActivation::SwiGLU;  // ReluSquared: each expert's gate_up is up alone
  Linear shared_gate;  // [1, hidden], or empty
};

// A residual block: x += mixers(norm(x)), then x += ffn(norm(x)). Either half may be absent (an
// empty norm): Nemotron-H's layers are each one mixer or one MLP.
struct Block {
  Tensor mix_norm;  // [hidden], or empty: no mixers
  std::vector<Mixer> mixers;
  Tensor mlp_norm;  // [hidden], or empty: no feed-forward
  Linear gate_up;   // [2I, hidden]: gate rows then up rows ([I, hidden] for ReluSquared); empty: no dense MLP
  Linear down;      // [hidden, I]
  MlpActivation mlp_act = MlpActivation::SwiGLU;
  std::optional<SparseMoe> moe;  // routed experts beside the dense MLP
  int recurrent_slot = -1;  // index into HybridModel::recurrent, or -1
};

// A layer whose mixer carries a recurrent state that S0 tuning learns.
struct RecurrentLayer {
  int layer = 0;         // block index
  std::string arch;      // "gated_delta_net" or "mamba2", as in s0-tuning adapter files
  Shape state_shape;     // [heads, key_dim, value_dim] or [heads, head_dim, d_state]
};

struct HybridModel {
  std::string family;             // model_type as read, e.g. "qwen3_5_text", "falcon_h1"
  std::string architecture;       // architectures[0] from config.json
  std::vector<std::string> layer_kinds;  // per block, e.g. "linear_attention", "full_attention", "mamba2+attention"
  int64_t hidden = 0, vocab = 0, max_positions = 0;
  float norm_eps = 1e-6f;
  Tensor embed;  // [vocab, hidden]
  float embed_scale = 1.0f;
  std::vector<Block> blocks;
  Tensor final_norm;
  Linear lm_head;  // shares embed's storage when tied
  bool tied_embeddings = false;
  float logit_scale = 1.0f;
  std::vector<RecurrentLayer> recurrent;
  std::vector<int64_t> eos_token_ids;
  // Provenance for `s0 info`: parameters read from the checkpoint and their stored dtypes.
  int64_t parameter_count = 0;
  std::map<std::string, int64_t> parameters_by_dtype;

  int64_t state_parameter_count() const;
  // Where the weights are (model_on_device.h moves them).
  Device device() const { return embed.device(); }
  // The recurrent slot of `layer`, or -1.
  int recurrent_slot_of_layer(int layer) const;
};

}  // namespace s0
