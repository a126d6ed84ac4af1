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

// Stacked tensors: gate_up [E, 2I, H] (per expert the gate rows, then the up rows) and down
// [E, H, I].
std::vector<Expert> load_stacked_experts(WeightLoader& wl, const std::string& gate_up, const std::string& down,
                                         int64_t E, int64_t I, int64_t H);

// The two layouts of transformers' experts module under prefix p ("...mlp.experts."): stacked
// p + "gate_up_proj" / p + "down_proj" (the layout of the module itself), or one tensor per expert
// p + "{e}.gate_proj.weight", p + "{e}.up_proj.weight", p + "{e}.down_proj.weight" (what
// save_pretrained and the published checkpoints write).
std::vector<Expert> load_experts(WeightLoader& wl, const std::string& p, int64_t E, int64_t I, int64_t H);

}  // namespace s0
