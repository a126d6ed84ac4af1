#include "model/arch/moe_weights.h"

namespace s0 {

std::vector<Expert> load_stacked_experts(WeightLoader& wl, const std::string& in, const std::string& down, int64_t E,
                                         int64_t in_rows, int64_t I, int64_t H) {
  const Tensor gu = wl.get_mapped(in, {E, in_rows, H});
  const Tensor dn = wl.get_mapped(down, {E, H, I});
  std::vector<Expert> experts(static_cast<size_t>(E));
  for (int64_t e = 0; e < E; ++e) {
    experts[e].gate_up.push_back(make_linear(gu.slice(e, 1).reshaped({in_rows, H})));
    experts[e].down = make_linear(dn.slice(e, 1).reshaped({H, I}));
  }
  return experts;
}

std::vector<Expert> load_experts(WeightLoader& wl, const std::string& p, int64_t E, int64_t I, int64_t H, bool gated) {
  const std::string stacked = gated ? "gate_up_proj" : "up_proj";
  if (wl.has(p + stacked)) return load_stacked_experts(wl, p + stacked, p + "down_proj", E, gated ? 2 * I : I, I, H);
  const std::vector<std::string> in_names = gated ? std::vector<std::string>{"gate_proj", "up_proj"}
                                                  : std::vector<std::string>{"up_proj"};
  std::vector<Expert> experts(static_cast<size_t>(E));
  for (int64_t e = 0; e < E; ++e) {
    const std::string q = p + std::to_string(e) + ".";
    for (const std::string& name : in_names)
      experts[e].gate_up.push_back(make_linear(wl.get_mapped(q + name + ".weight", {I, H})));
    experts[e].down = make_linear(wl.get_mapped(q + "down_proj.weight", {H, I}));
  }
  return experts;
}

}  // namespace s0
