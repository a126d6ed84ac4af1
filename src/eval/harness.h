#pragma once
// The generation-agnostic core of `s0 collect` and `s0 eval`: given each problem's list of
// completions (from a file today, from the generation engine later), check every one and return
// a record per problem.
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/progress.h"
#include "eval/dataset.h"
#include "eval/executor.h"
#include "eval/humaneval.h"
#include "eval/sandbox.h"

namespace s0 {

struct ProblemRecord {
  std::string id;
  size_t n = 0;         // samples checked
  size_t c = 0;         // samples correct
  bool passed = false;  // the first sample is correct (the greedy one when n = 1)
  std::vector<bool> sample_passed;
  std::string gold;        // GSM8K / MATH-500
  std::string prediction;  // GSM8K / MATH-500: what the first sample answered ("" when nothing)
  std::string failure;     // HumanEval: why the first sample failed (last line of its stderr, or "timeout")
  std::optional<std::string> first_correct;  // the first correct completion, cleaned as it was checked
};

class StartedChecks;

struct CheckOptions {
  const Sandbox* sandbox = nullptr;  // needed for HumanEval only
  // HumanEval: programs of some samples already running (their results are waited for, not run
  // again); null: none.
  StartedChecks* started = nullptr;
  int workers = 0;                   // parallel programs, 1..max_workers(); 0: one per core
  SandboxLimits limits;              // wall/CPU default to HumanEval's 10 s
  // Progress of the programs' execution (HumanEval: "check: 12/80 programs ..."; the answer
  // checks of GSM8K and MATH-500 take no time to speak of). Unset: none.
  std::optional<ProgressOptions> progress;
};

// HumanEval samples checked while the others are still being made (generated on a GPU, say): each
// sample handed to start() runs in the sandbox at once, and check_completions, given this object,
// waits for its result instead of running it again.
class StartedChecks {
 public:
  StartedChecks(const Sandbox& sandbox, const SandboxLimits& limits, int workers, const std::vector<Problem>& problems)
      : pool_(sandbox, limits, workers), problems_(problems) {}
  // Sample `sample` of problems[problem], as it will be in check_completions' list (from any thread).
  void start(size_t problem, size_t sample, const std::string& completion);

 private:
  friend std::vector<std::vector<ProblemRecord>> check_completion_groups(
      Benchmark, const std::vector<Problem>&, const std::vector<std::vector<std::string>>&, size_t,
      const CheckOptions&);
  struct Started {
    std::string completion;
    size_t program = 0;  // its index in the pool
  };
  ProgramPool pool_;
  const std::vector<Problem>& problems_;
  std::mutex mutex_;
  std::map<std::pair<size_t, size_t>, Started> started_;  // by (problem, sample)
};

// completions[i] holds the samples for problems[i] (at least one each).
std::vector<ProblemRecord> check_completions(Benchmark b, const std::vector<Problem>& problems,
                                             const std::vector<std::vector<std::string>>& completions,
                                             const CheckOptions& options);
// The same for `groups` runs checked together: completions[i] holds each run's samples for
// problems[i] in turn, the same number per run. One list of records per run.
std::vector<std::vector<ProblemRecord>> check_completion_groups(Benchmark b, const std::vector<Problem>& problems,
                                                                const std::vector<std::vector<std::string>>& completions,
                                                                size_t groups, const CheckOptions& options);

// Everything `s0 collect` and `s0 eval` do before writing: read the benchmark file, take the
// split, read the completions file, open the sandbox (HumanEval only) and check every sample.
struct CompletionFileRun {
  Benchmark benchmark = Benchmark::humaneval;
  std::filesystem::path data;
  Split split = Split::eval;
  std::filesystem::path completions;
  int workers = 0;  // 0: one per core; else 1..max_workers() (executor.h)
  double timeout_seconds = kHumanEvalSeconds;
  bool unsafe_no_sandbox = false;
  std::optional<ProgressOptions> progress;  // as CheckOptions::progress
  // HumanEval: the sandbox opened by open_run_sandbox before a model was loaded (`s0 experiment`'s,
  // shared by its stages); null: the run opens its own.
  const Sandbox* sandbox = nullptr;
};
// The sandbox for `run`'s programs with its spawner forked now (sandbox_spawner.h): open it before
// loading a model, so that starting a program does not cost a fork of the loaded process.
Sandbox open_run_sandbox(const CompletionFileRun& run);
struct CheckedRun {
  std::vector<Problem> problems;  // the split, in order
  std::vector<ProblemRecord> records;
  std::vector<std::vector<std::string>> samples;  // per problem, as read or produced (before cleaning)
  size_t skipped = 0;   // completion lines for problems outside the split
  std::string warning;  // set when programs ran without the sandbox
};
CheckedRun check_completion_file(const CompletionFileRun& run);

// The same run with the samples produced on the spot (by a model, say) instead of read from
// run.completions: `produce` gets the split's problems and returns their samples (at least one each,
// in problem order). The harness stays generation-agnostic: it never sees how they were made.
// `ready`, when set (HumanEval), takes a sample as soon as it is final (problem and sample index,
// text; from any thread), so that its program runs while the rest are produced; a producer that
// competes with the programs for the CPU (generation on the CPU) should not call it.
using SampleSink = std::function<void(size_t problem, size_t sample, const std::string& completion)>;
using SampleSource = std::function<std::vector<std::vector<std::string>>(const std::vector<Problem>& split,
                                                                         const SampleSink& ready)>;
// With `groups` > 1, several runs of the same split produced together: `produce` returns each
// problem's samples of every run in turn, the same number per run (and `ready` numbers them so);
// one CheckedRun per run.
std::vector<CheckedRun> check_produced_sample_groups(const CompletionFileRun& run, size_t groups,
                                                     const SampleSource& produce);

// The text a completion is judged (and trained) on: thinking removed, code fences removed for HumanEval.
std::string clean_completion(Benchmark b, const std::string& completion);

}  // namespace s0
