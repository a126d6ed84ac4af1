#include "model/model.h"

namespace s0 {

int64_t HybridModel::state_parameter_count() const {
  int64_t n = 0;
  for (const RecurrentLayer& r : recurrent) n += numel_of(r.state_shape);
  return n;
}

int HybridModel::recurrent_slot_of_layer(int layer) const {
  for (size_t i = 0; i < recurrent.size(); ++i)
    if (recurrent[i].layer == layer) return static_cast<int>(i);
  return -1;
}

}  // namespace s0
