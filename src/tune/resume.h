#pragma once
// Continuing a training run from its adapter folder (`s0 train --resume`): the states the adapter
// holds and the optimizer saved beside them (tune/optimizer_file.h), once everything that decides
// the run's arithmetic is checked to be the same as when it stopped: the configuration, the trained
// layers, the data and its order, and that the optimizer belongs to those states. Each mismatch is
// one line naming it; a resumed run then ends with the bits of a run that never stopped.
#include <filesystem>
#include <vector>

#include "model/model.h"
#include "tune/trainer.h"

namespace s0 {

TrainResume resume_run(const std::filesystem::path& dir, const HybridModel& model, const TrainConfig& cfg,
                       const std::vector<int>& layers, const std::vector<Example>& examples);

}  // namespace s0
