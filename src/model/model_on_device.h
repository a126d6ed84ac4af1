#pragma once
// The same model with every weight on another device, for a forward there. The model on the CPU is
// left as it is; a tied LM head stays one tensor with the embedding on the new device too.
#include "model/model.h"

namespace s0 {

HybridModel model_on(const HybridModel& model, Device device);

}  // namespace s0
