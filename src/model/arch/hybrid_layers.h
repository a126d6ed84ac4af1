#pragma once
// Layers several families store alike: the Mamba-2 hybrids' (Falcon-H1, Bamba, Granite 4.0 H,
// Nemotron-H) Mamba-2 mixer and plain attention (q, k, v, o projections, no norms, no gate), the
// gate/up/down SwiGLU MLP, the LM head, and the model fields every config gives the same way.
// Family files fold their own multipliers into the returned weights, which are owned f32 copies.
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "model/arch/weight_loader.h"
#include "model/model.h"

namespace s0 {

struct Mamba2Shape {
  int64_t hidden, heads, head_dim, d_state, groups, conv_k;
  bool in_bias, out_bias, conv_bias;  // in_proj, out_proj, conv1d biases
  ops::GateOrder gate_order;          // GateOnly: no norm.weight
  int64_t norm_group;                 // channels normalised together
  double eps, dt_min, dt_max;
};

// Under prefix p: in_proj [z | x | B | C | dt] (+ bias), conv1d (+ bias), dt_bias, A_log, D,
// norm.weight, out_proj (+ bias).
Mamba2Mixer load_mamba2_mixer(WeightLoader& wl, const std::string& p, const Mamba2Shape& s);

struct AttentionShape {
  int64_t hidden, heads, kv_heads, head_dim, rotary_dim;
  bool bias;
  double rope_theta;
  double scale;  // of the scores (1 / sqrt(head_dim) unless a family says otherwise)
};

// Under prefix p: q_proj, k_proj, v_proj (fused into in_proj), o_proj, each with a bias when `bias`.
AttentionMixer load_plain_attention(WeightLoader& wl, const std::string& p, const AttentionShape& s);

// Checks the Mamba-2 head layout: heads * head_dim == d, heads a multiple of groups, all positive.
void check_mamba2_shape(const Mamba2Shape& s, int64_t d, const std::string& origin);

// The Mamba-2 keys Bamba and Granite 4.0 H share (mamba_n_heads, mamba_d_head (an integer or
// "auto"), mamba_n_groups, mamba_d_state, mamba_d_conv, mamba_expand, mamba_conv_bias,
// mamba_proj_bias, time_step_limit). Their gated norm (transformers' MambaRMSNormGated) applies the
// gate first and normalises all d channels together.
Mamba2Shape bamba_style_mamba2(const Json& cfg, const std::string& origin, int64_t hidden, double eps);

// What a layer's weights hold, whatever the config calls it.
enum class LayerMixer { Mamba2, Attention, Mlp, Moe };
const char* layer_mixer_name(LayerMixer k);
// A layer label as the hybrids' configs spell it (transformers 5's "linear_attention" for Mamba-2
// and "full_attention", the older "mamba" and "attention", Nemotron-H's "mlp", "moe" and pattern
// characters "M", "*", "-", "E"); fails naming it when unknown.
LayerMixer layer_label(const std::string& name, const std::string& origin);
// The one mixer whose marker tensor (markers[i] for kinds[i]) layer l has. Fails when it has none
// or several, or when the config's label for it (`label`, empty for none) names another kind.
LayerMixer layer_mixer(const WeightLoader& wl, int64_t l, const std::vector<std::pair<LayerMixer, std::string>>& markers,
                       std::optional<LayerMixer> label, const std::string& origin);

// A model with the fields every family reads the same way: family (model_type) and architecture
// from the top-level config, hidden, vocab, norm_eps, and max_positions and eos_token_ids from
// `cfg` (the text config of a multimodal checkpoint; eos falls back to the top level).
HybridModel hybrid_model_shell(const Json& top, const Json& cfg, const std::string& origin, int64_t hidden,
                               int64_t vocab, double eps);

// blk's dense MLP from p + "gate_proj.weight", p + "up_proj.weight" ([inter, hidden]) and
// p + "down_proj.weight".
void load_swiglu_mlp(WeightLoader& wl, const std::string& p, int64_t inter, int64_t hidden, Block& blk);

// The LM head: the embedding when `tied`, else "lm_head.weight".
void attach_lm_head(WeightLoader& wl, HybridModel& model, bool tied);

}  // namespace s0
