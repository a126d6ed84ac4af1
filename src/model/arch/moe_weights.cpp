#include "model/arch/moe_weights.h"

namespace s0 {

std::vector<Expert> load_stacked_experts(WeightLoader& wl, const std::string& gate_up, const std::string& down,
                                         int64_t E, int64_t I, int64_t H) {
  const Tensor gu = wl.get_mapped(gate_up, {E, 2 * I, H});
  const Tensor dn = wl.get_mapped(down, {E, H, I});
  std::vector<Expert> experts(static_cast<size_t>(E));
  for (int64_t e = 0; e < E; ++e) {
    experts[e].gate_up.push_back(make_linear(gu.slice(e, 1).reshaped({2 * I, H})));
    experts[e].down = make_linear(dn.slice(e, 1).reshaped({H, I}));
  }
  return experts;
}

std::vector<Expert> load_experts(WeightLoader& wl, const std::string& p, int64_t E, int64_t I, int64_t H) {
  if (wl.has(p + "gate_up_proj")) return load_stacked_experts(wl, p + "gate_up_proj", p + "down_proj", E, I, H);
  std::vector<Expert> experts(static_cast<size_t>(E));
  for (int64_t e = 0; e < E; ++e) {
    const std::string q = p + std::to_string(e) + ".";
    experts[e].gate_up.push_back(make_linear(wl.get_mapped(q + "gate_proj.weight", {I, H})));
    experts[e].gate_up.push_back(make_linear(wl.get_mapped(q + "up_proj.weight", {I, H})));
    experts[e].down = make_linear(wl.get_mapped(q + "down_proj.weight", {H, I}));
  }
  return experts;
}

}  // namespace s0
