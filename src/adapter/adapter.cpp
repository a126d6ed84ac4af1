#include "adapter/adapter.h"

#include <algorithm>
#include <cmath>
#include <iterator>

#include "core/error.h"
#include "core/finite.h"
#include "core/strings.h"

namespace s0 {

double default_alpha(const std::string& arch) {
  if (arch == "gated_delta_net") return 0.07;
  if (arch == "mamba2") return 0.65;
  fail("no default alpha for recurrent layers of kind \"", arch, "\"");
}

void check_adapter_matches(const AdapterFile& a, const HybridModel& model, const std::string& where) {
  if (model.recurrent.empty()) fail(where, ": the model has no recurrent layers to adapt");
  const RecurrentLayer& r0 = model.recurrent[0];
  if (a.arch != r0.arch)
    fail(where, ": adapter is for ", a.arch, " layers, the model's recurrent layers are ", r0.arch);
  if (a.state_shape != r0.state_shape)
    fail(where, ": adapter state shape ", shape_str(a.state_shape), " differs from the model's ",
         shape_str(r0.state_shape));
  // Every state must belong to a recurrent layer of the model. A folder covering only some of them
  // (the s0-tuning library refuses those; earlier s0 versions wrote them for --layers) still loads here:
  // the layers it leaves out start from zero, which is what a zero state would give. s0 itself
  // writes every layer, so what it writes loads in the library.
  std::vector<int64_t> want, have = a.layers;
  for (const RecurrentLayer& r : model.recurrent) want.push_back(r.layer);
  std::sort(have.begin(), have.end());
  std::vector<int64_t> foreign;
  std::set_difference(have.begin(), have.end(), want.begin(), want.end(), std::back_inserter(foreign));
  if (!foreign.empty()) {
    auto listing = [](const std::vector<int64_t>& v) {
      std::vector<std::string> s;
      for (int64_t l : v) s.push_back(std::to_string(l));
      std::string out = "[";  // appended, not "[" + ...: g++ 12 warns (-Wrestrict) on that falsely
      out += join(s, ", ");
      return out + "]";
    };
    fail(where, ": adapter has states for layers ", listing(have), ", but ", listing(foreign),
         foreign.size() == 1 ? " is not a recurrent layer" : " are not recurrent layers",
         " of the model (its recurrent layers are ", listing(want), ")");
  }
}

StateSet activate_adapter(const AdapterFile& a, const HybridModel& model, std::optional<double> alpha) {
  check_adapter_matches(a, model, "adapter");
  if (alpha) require_finite(*alpha, "alpha");
  const double scale = alpha ? *alpha : a.config.alpha ? *a.config.alpha : default_alpha(a.arch);
  StateSet set;
  set.variant = a.config.variant;
  set.states.assign(model.recurrent.size(), Tensor());
  for (const auto& [layer, t] : a.states) {
    Tensor s = t.clone();
    double factor = scale;
    if (a.config.normalize) {
      double sq = 0;
      for (int64_t i = 0; i < s.numel(); ++i) sq += static_cast<double>(s.f32()[i]) * s.f32()[i];
      if (sq > 0) factor /= std::sqrt(sq);
    }
    for (int64_t i = 0; i < s.numel(); ++i) s.f32_mut()[i] = static_cast<float>(s.f32()[i] * factor);
    set.states[static_cast<size_t>(model.recurrent_slot_of_layer(static_cast<int>(layer)))] = s;
  }
  return set;
}

void check_adapter_applies(const StateSet& activated, const std::string& where) {
  for (const Tensor& t : activated.states) {
    if (t.empty()) continue;  // a layer the adapter leaves out
    const Tensor host = t.to(Device::cpu());  // the states may be where the model runs
    for (int64_t i = 0; i < host.numel(); ++i)
      if (host.f32()[i] != 0.0f) return;
  }
  fail(where, ": every state of the adapter is zero, so the model would start as without it; refusing to ",
       "report that as a tuned run (was it trained?)");
}

}  // namespace s0
