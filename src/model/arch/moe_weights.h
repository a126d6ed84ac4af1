#pragma once
// Routed experts as checkpoints store them. On the CPU, expert weights stay views into the mapped
// checkpoint in its dtype, f32, bf16 or f16 (WeightLoader::get_mapped): the experts are most of an
// MoE model's bytes and each token reads only top_k of them. In its f32 mode the CPU computes in f32:
// a bf16 / f16 expert's weights are widened each time it runs (ops/linear.h), never kept widened; in
// its bf16 mode bf16 experts are multiplied as they are (Linear::bf16_products). On the GPU
// they are widened once, when the model moves there.
#include <string>
#include <vector>

#include "model/arch/weight_loader.h"
#include "model/model.h"

namespace s0 {

// Stacked tensors: the input projection [E, in_rows, H] (SwiGLU: per expert the I gate rows, then
// the I up rows; squared ReLU: the I up rows) and down [E, H, I].
std::vector<Expert> load_stacked_experts(WeightLoader& wl, const std::string& in, const std::string& down, int64_t E,
                                         int64_t in_rows, int64_t I, int64_t H);

// The two layouts of transformers' experts module under prefix p ("...mlp.experts."): stacked
// (the layout of the module itself), or one tensor per expert p + "{e}.<name>.weight" (what
// save_pretrained and the published checkpoints write). SwiGLU experts (`gated`) hold gate_up_proj
// stacked or gate_proj and up_proj apart; squared-ReLU experts (Nemotron-H) up_proj alone; both
// down_proj.
std::vector<Expert> load_experts(WeightLoader& wl, const std::string& p, int64_t E, int64_t I, int64_t H,
                                 bool gated = true);

}  // namespace s0
