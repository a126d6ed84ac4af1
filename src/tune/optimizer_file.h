#pragma once
// The optimizer's state beside an adapter (io/adapter_file.h's kOptimizerFile), so that
// `s0 train --resume` continues a run exactly where it stopped: Adam's step count and moments for
// each trained layer, a digest of the trained states they belong to, and a digest of the training
// data. It is written after the adapter at every step; a run killed between the two leaves a file
// whose states digest no longer matches, and resuming from it is refused rather than guessed.
#include <filesystem>
#include <string>
#include <vector>

#include "model/model.h"
#include "tune/adam.h"
#include "tune/objective.h"

namespace s0 {

struct SavedOptimizer {
  AdamState adam;           // moments per trained layer, in `layers` order
  std::vector<int> layers;  // the trained layers
  std::string states_digest, data_digest;
};

// Digest of the trained layers' raw states (`layers` are block indices of `model`'s recurrent layers).
std::string trained_states_digest(const HybridModel& model, const StateSet& states, const std::vector<int>& layers);
// Digest of the examples as training sees them (token ids and prompt lengths, in order).
std::string examples_digest(const std::vector<Example>& examples);

// Atomic. `adam` holds the moments of `layers` in that order; the digests are those of the states the
// adapter in `dir` holds and of the data.
void write_optimizer(const std::filesystem::path& dir, const AdamState& adam, const std::vector<int>& layers,
                     const std::string& states_digest, const std::string& data_digest);
// Fails with one line naming the file when it is absent or malformed.
SavedOptimizer read_optimizer(const std::filesystem::path& dir);

}  // namespace s0
