#pragma once
// The stages of `s0 experiment` and what each was made from. Every stage writes one output in the
// out folder (a file, or train's adapter folder) and then, beside it, `<output>.made-from.json`:
// the stage's name and its inputs (arguments and digests of the files it read). A stage counts as
// done only when that record is there, so a run killed anywhere leaves at worst a stage to redo.
// On --resume a stage whose record matches its inputs is skipped; one whose record differs is a
// one-line error (the folder holds another experiment's results, which are never overwritten).
#include <filesystem>
#include <functional>
#include <string>

#include "io/json.h"

namespace s0 {

class StageLedger {
 public:
  explicit StageLedger(bool resume) : resume_(resume) {}

  // Whether `output` is recorded as made from `made_from` (only ever on --resume); fails on a record
  // of another stage or of other inputs.
  bool done(const std::string& stage, const std::filesystem::path& output, const Json& made_from) const;
  // Runs `make` (which writes `output`) unless it is done, with a line before ("s0 experiment:
  // STAGE") and one after ("s0 experiment: STAGE: done in S s"), or one "done earlier" line.
  void run(const std::string& stage, const std::filesystem::path& output, const Json& made_from,
           const std::function<void()>& make);

 private:
  bool resume_;
  int made_ = 0;  // stages made by this process (for S0_EXPERIMENT_STOP_AFTER)
};

// The record's path for a stage output: beside it, never inside (an adapter folder holds only the
// adapter's own files).
std::filesystem::path made_from_path(const std::filesystem::path& output);

// A digest of a file's bytes, for records.
std::string file_digest(const std::filesystem::path& path);

}  // namespace s0
