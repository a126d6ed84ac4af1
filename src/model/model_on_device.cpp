#include "model/model_on_device.h"

#include "core/overloaded.h"

namespace s0 {

namespace {

// The GPU computes in float32: weights kept in the checkpoint's bf16 / f16 (mapped experts) widen.
void move(Tensor& t, Device device) {
  if (t.empty()) return;
  t = (t.dtype() == DType::F32 || device.is_cpu() ? t : t.to_f32()).to(device);
}

void move(Linear& l, Device device) {
  move(l.w, device);
  move(l.b, device);
}

}  // namespace

HybridModel model_on(const HybridModel& model, Device device) {
  HybridModel m = model;
  move(m.embed, device);
  move(m.final_norm, device);
  if (m.tied_embeddings)
    m.lm_head.w = m.embed;
  else
    move(m.lm_head, device);
  move(m.lm_head.b, device);
  for (Block& blk : m.blocks) {
    move(blk.mix_norm, device);
    move(blk.mlp_norm, device);
    move(blk.gate_up, device);
    move(blk.down, device);
    if (blk.moe) {
      move(blk.moe->router, device);
      move(blk.moe->shared_gate, device);
      for (Expert& e : blk.moe->experts) {
        for (Linear& l : e.gate_up) move(l, device);
        move(e.down, device);
      }
    }
    for (Mixer& mixer : blk.mixers)
      std::visit(Overloaded{
                     [&](AttentionMixer& a) {
                       for (Tensor* t : {&a.q_norm, &a.k_norm}) move(*t, device);
                       move(a.in_proj, device);
                       move(a.out_proj, device);
                     },
                     [&](GatedDeltaMixer& g) {
                       for (Tensor* t : {&g.conv_w, &g.neg_A, &g.dt_bias, &g.norm_w}) move(*t, device);
                       move(g.in_proj, device);
                       move(g.out_proj, device);
                     },
                     [&](Mamba2Mixer& s) {
                       for (Tensor* t : {&s.conv_w, &s.conv_b, &s.dt_bias, &s.neg_A, &s.D, &s.norm_w}) move(*t, device);
                       move(s.in_proj, device);
                       move(s.out_proj, device);
                     },
                 },
                 mixer);
  }
  return m;
}

}  // namespace s0
