#pragma once
// The whole of `s0 collect` after its flags are checked, as one call that `s0 experiment` shares:
// check every sample, keep the first correct completion per problem, write the training lines.
#include <cstddef>
#include <filesystem>

#include "experiment/harness_run.h"

namespace s0 {

// Fewer verified solutions than this make gains unstable (the paper needs about 25): warn.
constexpr size_t kFewTrainingSolutions = 10;

struct CollectSummary {
  size_t problems = 0, samples = 0, correct = 0;
  size_t kept = 0;  // problems with a correct completion: the training examples written
};

// Writes `out` atomically ({"prompt", "completion"} per line) and prints a summary; warns on stderr
// when fewer than kFewTrainingSolutions were kept.
CollectSummary collect_training_data(const HarnessRequest& harness, const std::filesystem::path& out);
// Its writing half, for a run already checked (one of HarnessRequest::run_arms').
CollectSummary write_training_data(const CompletionFileRun& request, const CheckedRun& run,
                                   const std::filesystem::path& out);

}  // namespace s0
