#pragma once
// The whole of `s0 eval` after its flags are checked, as one call that `s0 experiment` shares:
// check every sample, save generated completions, write the JSON report, print its summary.
#include <filesystem>
#include <string>

#include "experiment/harness_run.h"
#include "io/json.h"

namespace s0 {

struct EvalOutputs {
  std::filesystem::path report;
  std::filesystem::path completions;  // generated completions (with --model); empty: not saved
  std::string baseline;               // an earlier report to compare with; empty: none
  std::string label;
};

// Returns the report it wrote.
Json run_evaluation(const HarnessRequest& harness, const EvalOutputs& outputs);
// The writing half of run_evaluation, for a run already checked (one of HarnessRequest::run_arms'):
// `source` names where its completions came from.
Json write_evaluation(const CompletionFileRun& request, const std::string& source, const CheckedRun& run,
                      const EvalOutputs& outputs);

}  // namespace s0
