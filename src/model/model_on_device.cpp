#include "model/model_on_device.h"

#include <functional>

#include "core/error.h"
#include "core/overloaded.h"

namespace s0 {

namespace {

// Every weight of the model: f(matrix or vector tensor, is_matrix) for those outside a Linear (the
// embedding is the one matrix), linear(l) for each Linear (the LM head included, tied or not).
void for_each_part(HybridModel& m, const std::function<void(Tensor&, bool is_matrix)>& f,
                   const std::function<void(Linear&)>& linear) {
  auto vectors = [&](std::initializer_list<Tensor*> ts) {
    for (Tensor* t : ts) f(*t, false);
  };
  f(m.embed, true);
  vectors({&m.final_norm});
  linear(m.lm_head);
  for (Block& blk : m.blocks) {
    vectors({&blk.mix_norm, &blk.mlp_norm});
    linear(blk.gate_up);
    linear(blk.down);
    if (blk.moe) {
      linear(blk.moe->router);
      vectors({&blk.moe->correction_bias});
      linear(blk.moe->shared_gate);
      for (Expert& e : blk.moe->experts) {
        for (Linear& l : e.gate_up) linear(l);
        linear(e.down);
      }
    }
    for (Mixer& mixer : blk.mixers)
      std::visit(Overloaded{
                     [&](AttentionMixer& a) {
                       vectors({&a.q_norm, &a.k_norm});
                       linear(a.in_proj);
                       linear(a.out_proj);
                     },
                     [&](GatedDeltaMixer& g) {
                       vectors({&g.conv_w, &g.neg_A, &g.dt_bias, &g.norm_w});
                       linear(g.in_proj);
                       linear(g.out_proj);
                     },
                     [&](Mamba2Mixer& s) {
                       vectors({&s.conv_w, &s.conv_b, &s.dt_bias, &s.neg_A, &s.D, &s.norm_w});
                       linear(s.in_proj);
                       linear(s.out_proj);
                     },
                 },
                 mixer);
  }
}

}  // namespace

void for_each_weight(HybridModel& m, const std::function<void(Tensor&, bool)>& f) {
  for_each_part(m, f, [&](Linear& l) {
    // A tied LM head is the embedding, visited already.
    if (!(&l == &m.lm_head && m.tied_embeddings)) f(l.w, true);
    f(l.b, false);
  });
}

void for_each_linear(HybridModel& m, const std::function<void(Linear&)>& f) {
  for_each_part(m, [](Tensor&, bool) {}, f);
}

namespace {

// The dtype a weight takes on any device (see the header).
DType dtype_on(const Tensor& t, bool is_matrix, std::optional<DType> matrices) {
  if (!is_matrix) return DType::F32;
  return matrices.value_or(t.dtype() == DType::BF16 ? DType::BF16 : DType::F32);
}

}  // namespace

HybridModel model_on(const HybridModel& model, Device device, std::optional<DType> matrices) {
  if (matrices && *matrices != DType::F32 && *matrices != DType::BF16)
    fail("internal: model_on with ", dtype_name(*matrices), " matrices");
  HybridModel m = model;
  for_each_weight(m, [&](Tensor& t, bool is_matrix) {
    if (t.empty()) return;
    const DType want = dtype_on(t, is_matrix, matrices);
    if (t.dtype() != want) t = want == DType::BF16 ? t.to_bf16() : t.to_f32();
    t = t.to(device);
  });
  if (m.tied_embeddings) m.lm_head.w = m.embed;
  for_each_linear(m, [&](Linear& l) { l.bf16_products = device.is_cpu() && l.w.dtype() == DType::BF16; });
  // The recurrences' chunk products and attention's (ops/product_precision.h) follow the mixer's
  // matrices on a GPU.
  auto products_for = [&](const Linear& in_proj) {
    return !device.is_cpu() && in_proj.w.dtype() == DType::BF16 ? ops::ProductPrecision::tf32 : ops::ProductPrecision::f32;
  };
  for (Block& b : m.blocks)
    for (auto& mixer : b.mixers) {
      if (auto* gdn = std::get_if<GatedDeltaMixer>(&mixer)) gdn->products = products_for(gdn->in_proj);
      if (auto* ssm = std::get_if<Mamba2Mixer>(&mixer)) ssm->products = products_for(ssm->in_proj);
      if (auto* attn = std::get_if<AttentionMixer>(&mixer)) attn->products = products_for(attn->in_proj);
    }
  return m;
}

int64_t weight_bytes_on(const HybridModel& model, Device device, std::optional<DType> matrices) {
  HybridModel m = model;  // handles only: the weights are shared, not copied
  int64_t bytes = 0;
  for_each_weight(m, [&](Tensor& t, bool is_matrix) {
    bytes += t.numel() * static_cast<int64_t>(dtype_size(dtype_on(t, is_matrix, matrices)));
  });
  return bytes;
}

HybridModel load_model_on(const std::filesystem::path& dir, Device device, std::optional<DType> matrices) {
  // The CPU's exactness mode: float32 weights, routed experts kept mapped as stored (widened per use).
  if (device.is_cpu() && matrices == DType::F32) return load_model(dir);
  return model_on(load_model(dir, {.keep_bf16_matrices = true}), device, matrices);
}

std::optional<DType> matrix_dtype(const std::string& dtype) {
  if (dtype.empty()) return std::nullopt;
  return dtype == "bf16" ? DType::BF16 : DType::F32;
}

}  // namespace s0
