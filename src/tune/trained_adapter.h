#pragma once
// The adapter file a training run writes: every recurrent layer's state (zeros for layers left out
// of training), the trained layers named, and the run's configuration.
#include "io/adapter_file.h"
#include "model/model.h"
#include "tune/trainer.h"

namespace s0 {

AdapterFile make_adapter_file(const HybridModel& model, const TrainResult& trained, const TrainConfig& cfg);

}  // namespace s0
