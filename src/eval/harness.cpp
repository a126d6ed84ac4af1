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

namespace {

// What checking one sample found.
struct SampleOutcome {
  bool ok = false;
  std::string cleaned;     // the text judged
  std::string failure;     // HumanEval, when it failed: the last line of its stderr, or "timeout"
  std::string prediction;  // GSM8K / MATH-500: the answer it gave ("" when none)
};

// A problem's record from its samples' outcomes (the first is the greedy one when there is one).
ProblemRecord record_of(const Problem& problem, Benchmark b, const SampleOutcome* outcomes, size_t n) {
  ProblemRecord r;
  r.id = problem.id;
  r.n = n;
  if (b != Benchmark::humaneval) r.gold = problem.gold;
  for (size_t s = 0; s < n; ++s) {
    r.sample_passed.push_back(outcomes[s].ok);
    if (!outcomes[s].ok) continue;
    ++r.c;
    if (!r.first_correct) r.first_correct = outcomes[s].cleaned;
  }
  r.passed = outcomes[0].ok;
  r.failure = outcomes[0].failure;
  r.prediction = outcomes[0].prediction;
  return r;
}

}  // namespace

std::vector<std::vector<ProblemRecord>> check_completion_groups(Benchmark b, const std::vector<Problem>& problems,
                                                                const std::vector<std::vector<std::string>>& completions,
                                                                size_t groups, const CheckOptions& options) {
  if (problems.size() != completions.size())
    fail("check_completions: ", problems.size(), " problems but ", completions.size(), " completion lists");
  if (groups == 0) fail("internal: no group of samples to check");
  std::vector<std::vector<SampleOutcome>> outcomes(problems.size());
  for (size_t i = 0; i < problems.size(); ++i) {
    if (completions[i].empty()) fail("no completion for problem ", problems[i].id);
    if (completions[i].size() % groups != 0)
      fail("internal: ", completions[i].size(), " samples of ", problems[i].id, " in ", groups, " groups");
    for (const std::string& c : completions[i]) outcomes[i].push_back({false, clean_completion(b, c), "", ""});
  }

  if (b == Benchmark::humaneval) {
    if (!options.sandbox && !options.started) fail("check_completions: HumanEval needs a sandbox to run programs");
    // Each sample's program: started earlier, or handed to the pool now.
    std::optional<ProgramPool> own;
    ProgramPool& pool =
        options.started ? options.started->pool_ : own.emplace(*options.sandbox, options.limits, options.workers);
    std::vector<std::vector<size_t>> program(problems.size());
    for (size_t i = 0; i < problems.size(); ++i)
      for (size_t s = 0; s < completions[i].size(); ++s) {
        std::optional<size_t> started;
        if (options.started) {
          std::lock_guard<std::mutex> lock(options.started->mutex_);
          auto it = options.started->started_.find({i, s});
          if (it != options.started->started_.end()) {
            if (it->second.completion != completions[i][s])
              fail("internal: sample ", s, " of ", problems[i].id, " was started as another text");
            started = it->second.program;
          }
        }
        program[i].push_back(started ? *started : pool.submit(humaneval_program(problems[i], outcomes[i][s].cleaned)));
      }
    std::optional<Progress> progress;
    if (options.progress) {
      int64_t count = 0;
      for (const std::vector<size_t>& p : program) count += static_cast<int64_t>(p.size());
      progress.emplace("check", "programs", count, *options.progress);
    }
    const std::vector<RunResult> results = pool.finish(progress ? &*progress : nullptr);
    if (progress) progress->finish();
    for (size_t i = 0; i < problems.size(); ++i)
      for (size_t s = 0; s < program[i].size(); ++s) {
        const RunResult& result = results[program[i][s]];
        outcomes[i][s].ok = result.ok();
        if (!result.ok()) outcomes[i][s].failure = failure_reason(result);
      }
  } else {
    for (size_t i = 0; i < problems.size(); ++i)
      for (SampleOutcome& o : outcomes[i]) {
        if (b == Benchmark::gsm8k) {
          std::optional<double> v = gsm8k_prediction(o.cleaned);
          o.ok = gsm8k_correct(v, std::stod(problems[i].gold));
          if (v) o.prediction = format_number(*v);
        } else {
          std::optional<std::string> boxed = last_boxed(o.cleaned);
          o.ok = boxed && math_equivalent(*boxed, problems[i].gold);
          if (boxed) o.prediction = *boxed;
        }
      }
  }

  std::vector<std::vector<ProblemRecord>> records(groups);
  for (size_t g = 0; g < groups; ++g)
    for (size_t i = 0; i < problems.size(); ++i) {
      const size_t n = outcomes[i].size() / groups;
      records[g].push_back(record_of(problems[i], b, outcomes[i].data() + g * n, n));
    }
  return records;
}

std::vector<ProblemRecord> check_completions(Benchmark b, const std::vector<Problem>& problems,
                                             const std::vector<std::vector<std::string>>& completions,
                                             const CheckOptions& options) {
  return check_completion_groups(b, problems, completions, 1, options).front();
}

void StartedChecks::start(size_t problem, size_t sample, const std::string& completion) {
  const size_t program =
      pool_.submit(humaneval_program(problems_.at(problem), clean_completion(Benchmark::humaneval, completion)));
  std::lock_guard<std::mutex> lock(mutex_);
  started_[{problem, sample}] = {completion, program};
}

namespace {
// Each program's limits: the run's timeout as its wall and CPU limit.
SandboxLimits program_limits(const CompletionFileRun& run) {
  if (!(run.timeout_seconds > 0)) fail("--timeout must be positive, got ", run.timeout_seconds);
  SandboxLimits limits;
  limits.wall_seconds = run.timeout_seconds;
  limits.cpu_seconds = static_cast<int>(std::ceil(run.timeout_seconds));
  return limits;
}
}  // namespace

Sandbox open_run_sandbox(const CompletionFileRun& run) {
  Sandbox sandbox =
      Sandbox::open(run.unsafe_no_sandbox, RunBudget::for_workers(worker_count(run.workers), program_limits(run)));
  sandbox.start_spawner();
  return sandbox;
}

namespace {
// Loads the split, opens the sandbox (HumanEval), gets the samples from `samples` (given every
// problem, the split, and where to start a finished sample's check early), checks them. Each
// problem's samples are `groups` runs' in turn, each run's as many: a CheckedRun per run.
std::vector<CheckedRun> check_run(const CompletionFileRun& run, size_t groups,
                                  const std::function<std::vector<std::vector<std::string>>(
                                      const std::vector<Problem>& all, CheckedRun& out, const SampleSink& ready)>& samples) {
  CheckOptions options;
  options.limits = program_limits(run);
  const int workers = worker_count(run.workers);  // before any work, so a bad count fails at once
  CheckedRun out;
  std::vector<Problem> all = load_benchmark(run.benchmark, run.data);
  out.problems = select_split(run.benchmark, all, run.split);
  options.workers = workers;
  options.progress = run.progress;
  std::optional<Sandbox> own;
  std::optional<StartedChecks> started;
  SampleSink ready;
  if (run.benchmark == Benchmark::humaneval) {
    const Sandbox& sandbox = run.sandbox ? *run.sandbox : own.emplace(open_run_sandbox(run));
    out.warning = sandbox.warning();
    options.sandbox = &sandbox;
    options.started = &started.emplace(sandbox, options.limits, workers, out.problems);
    ready = [&started](size_t problem, size_t sample, const std::string& completion) {
      started->start(problem, sample, completion);
    };
  }
  const std::vector<std::vector<std::string>> produced = samples(all, out, ready);
  if (produced.size() != out.problems.size())
    fail("internal: ", produced.size(), " sample lists for ", out.problems.size(), " problems");
  std::vector<std::vector<ProblemRecord>> records =
      check_completion_groups(run.benchmark, out.problems, produced, groups, options);
  std::vector<CheckedRun> runs(groups, out);
  for (size_t g = 0; g < groups; ++g) {
    runs[g].records = std::move(records[g]);
    for (const std::vector<std::string>& p : produced) {
      const size_t n = p.size() / groups;
      runs[g].samples.emplace_back(p.begin() + static_cast<std::ptrdiff_t>(g * n),
                                   p.begin() + static_cast<std::ptrdiff_t>((g + 1) * n));
    }
  }
  return runs;
}
}  // namespace

CheckedRun check_completion_file(const CompletionFileRun& run) {
  return check_run(run, 1, [&](const std::vector<Problem>& all, CheckedRun& out, const SampleSink&) {
    CompletionSet set = read_completions(run.completions, all, out.problems);
    out.skipped = set.skipped;
    return set.samples;
  }).front();
}

std::vector<CheckedRun> check_produced_sample_groups(const CompletionFileRun& run, size_t groups,
                                                     const SampleSource& produce) {
  return check_run(run, groups, [&](const std::vector<Problem>&, CheckedRun& out, const SampleSink& ready) {
    return produce(out.problems, ready);
  });
}

}  // namespace s0
