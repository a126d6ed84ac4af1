#include "eval/harness.h"

#include <cmath>
#include <sstream>

#include "core/error.h"
#include "eval/completions.h"
#include "eval/executor.h"
#include "eval/gsm8k.h"
#include "eval/humaneval.h"
#include "eval/math_answer.h"
#include "eval/prompts.h"

namespace s0 {

std::string clean_completion(Benchmark b, const std::string& completion) {
  return b == Benchmark::humaneval ? clean_code_completion(completion) : strip_thinking(completion);
}

namespace {

std::string format_number(double v) {
  std::ostringstream s;
  s.precision(15);
  s << v;
  return s.str();
}

std::string failure_reason(const RunResult& r) {
  if (r.status == RunStatus::timed_out) return "timeout";
  std::string err = r.err;
  while (!err.empty() && (err.back() == '\n' || err.back() == '\r')) err.pop_back();
  size_t last = err.rfind('\n');
  std::string line = last == std::string::npos ? err : err.substr(last + 1);
  return line.empty() ? cat("exit code ", r.exit_code) : line;
}

}  // namespace

std::vector<ProblemRecord> check_completions(Benchmark b, const std::vector<Problem>& problems,
                                             const std::vector<std::vector<std::string>>& completions,
                                             const CheckOptions& options) {
  if (problems.size() != completions.size())
    fail("check_completions: ", problems.size(), " problems but ", completions.size(), " completion lists");
  std::vector<ProblemRecord> records(problems.size());
  std::vector<std::vector<std::string>> cleaned(problems.size());
  for (size_t i = 0; i < problems.size(); ++i) {
    if (completions[i].empty()) fail("no completion for problem ", problems[i].id);
    records[i].id = problems[i].id;
    records[i].n = completions[i].size();
    for (const std::string& c : completions[i]) cleaned[i].push_back(clean_completion(b, c));
  }

  if (b == Benchmark::humaneval) {
    if (!options.sandbox) fail("check_completions: HumanEval needs a sandbox to run programs");
    std::vector<std::string> programs;
    for (size_t i = 0; i < problems.size(); ++i)
      for (const std::string& c : cleaned[i]) programs.push_back(humaneval_program(problems[i], c));
    std::optional<Progress> progress;
    if (options.progress) progress.emplace("check", "programs", static_cast<int64_t>(programs.size()), *options.progress);
    std::vector<RunResult> results =
        run_programs(*options.sandbox, programs, options.limits, options.workers, progress ? &*progress : nullptr);
    if (progress) progress->finish();
    size_t k = 0;
    for (size_t i = 0; i < problems.size(); ++i) {
      for (size_t s = 0; s < cleaned[i].size(); ++s, ++k) records[i].sample_passed.push_back(results[k].ok());
      const RunResult& first = results[k - cleaned[i].size()];
      if (!first.ok()) records[i].failure = failure_reason(first);
    }
  } else {
    for (size_t i = 0; i < problems.size(); ++i) {
      ProblemRecord& r = records[i];
      r.gold = problems[i].gold;
      for (size_t s = 0; s < cleaned[i].size(); ++s) {
        bool ok = false;
        std::string prediction;
        if (b == Benchmark::gsm8k) {
          std::optional<double> v = gsm8k_prediction(cleaned[i][s]);
          ok = gsm8k_correct(v, std::stod(problems[i].gold));
          if (v) prediction = format_number(*v);
        } else {
          std::optional<std::string> boxed = last_boxed(cleaned[i][s]);
          ok = boxed && math_equivalent(*boxed, problems[i].gold);
          if (boxed) prediction = *boxed;
        }
        r.sample_passed.push_back(ok);
        if (s == 0) r.prediction = prediction;
      }
    }
  }

  for (size_t i = 0; i < problems.size(); ++i) {
    ProblemRecord& r = records[i];
    r.passed = r.sample_passed.front();
    for (size_t s = 0; s < r.sample_passed.size(); ++s) {
      if (!r.sample_passed[s]) continue;
      ++r.c;
      if (!r.first_correct) r.first_correct = cleaned[i][s];
    }
  }
  return records;
}

namespace {
// Loads the split, gets its samples from `samples` (given every problem and the split), checks them.
CheckedRun check_run(const CompletionFileRun& run,
                     const std::function<std::vector<std::vector<std::string>>(const std::vector<Problem>& all,
                                                                                CheckedRun& out)>& samples) {
  if (!(run.timeout_seconds > 0)) fail("--timeout must be positive, got ", run.timeout_seconds);
  const int workers = worker_count(run.workers);  // before any work, so a bad count fails at once
  CheckedRun out;
  std::vector<Problem> all = load_benchmark(run.benchmark, run.data);
  out.problems = select_split(run.benchmark, all, run.split);
  out.samples = samples(all, out);
  const std::vector<std::vector<std::string>>& produced = out.samples;
  if (produced.size() != out.problems.size())
    fail("internal: ", produced.size(), " sample lists for ", out.problems.size(), " problems");
  CheckOptions options;
  options.workers = workers;
  options.progress = run.progress;
  options.limits.wall_seconds = run.timeout_seconds;
  options.limits.cpu_seconds = static_cast<int>(std::ceil(run.timeout_seconds));
  std::optional<Sandbox> sandbox;
  if (run.benchmark == Benchmark::humaneval) {
    sandbox.emplace(Sandbox::open(run.unsafe_no_sandbox, RunBudget::for_workers(workers, options.limits)));
    out.warning = sandbox->warning();
    options.sandbox = &*sandbox;
  }
  out.records = check_completions(run.benchmark, out.problems, produced, options);
  return out;
}
}  // namespace

CheckedRun check_completion_file(const CompletionFileRun& run) {
  return check_run(run, [&](const std::vector<Problem>& all, CheckedRun& out) {
    CompletionSet set = read_completions(run.completions, all, out.problems);
    out.skipped = set.skipped;
    return set.samples;
  });
}

CheckedRun check_produced_samples(const CompletionFileRun& run, const SampleSource& produce) {
  return check_run(run, [&](const std::vector<Problem>&, CheckedRun& out) { return produce(out.problems); });
}

}  // namespace s0
